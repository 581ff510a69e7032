/**
 * The component's style sheet. Every colour, radius and font is a CSS custom property the host
 * page can set on `keyward-keys` (light by default, dark with `theme="dark"` or, with
 * `theme="auto"`, the user's system setting); `::part()` reaches each building block.
 *
 * @example
 * ```css
 * keyward-keys { --keyward-accent: #7c3aed; --keyward-radius: 0 }
 * keyward-keys::part(table) { font-size: 0.875rem }
 * ```
 */
export const STYLES = `
:host {
  --kw-bg: var(--keyward-bg, #ffffff);
  --kw-fg: var(--keyward-fg, #111827);
  --kw-muted: var(--keyward-muted, #4b5563);
  --kw-border: var(--keyward-border, #d1d5db);
  --kw-surface: var(--keyward-surface, #f9fafb);
  --kw-accent: var(--keyward-accent, #1d4ed8);
  --kw-accent-fg: var(--keyward-accent-fg, #ffffff);
  --kw-danger: var(--keyward-danger, #b91c1c);
  --kw-danger-fg: var(--keyward-danger-fg, #ffffff);
  --kw-ok: var(--keyward-ok, #166534);
  --kw-radius: var(--keyward-radius, 6px);
  --kw-font: var(--keyward-font, system-ui, -apple-system, 'Segoe UI', sans-serif);
  --kw-mono: var(--keyward-mono, ui-monospace, 'SFMono-Regular', Menlo, monospace);
  display: block;
  color: var(--kw-fg);
  background: var(--kw-bg);
  font-family: var(--kw-font);
  font-size: 0.9375rem;
  line-height: 1.45;
  color-scheme: light;
}
:host([theme='dark']) {
  --kw-bg: var(--keyward-bg, #111827);
  --kw-fg: var(--keyward-fg, #f3f4f6);
  --kw-muted: var(--keyward-muted, #c4c9d2);
  --kw-border: var(--keyward-border, #4b5563);
  --kw-surface: var(--keyward-surface, #1f2937);
  --kw-accent: var(--keyward-accent, #93b4fd);
  --kw-accent-fg: var(--keyward-accent-fg, #0b1120);
  --kw-danger: var(--keyward-danger, #fca5a5);
  --kw-danger-fg: var(--keyward-danger-fg, #1f0a0a);
  --kw-ok: var(--keyward-ok, #86efac);
  color-scheme: dark;
}
@media (prefers-color-scheme: dark) {
  :host([theme='auto']) {
    --kw-bg: var(--keyward-bg, #111827);
    --kw-fg: var(--keyward-fg, #f3f4f6);
    --kw-muted: var(--keyward-muted, #c4c9d2);
    --kw-border: var(--keyward-border, #4b5563);
    --kw-surface: var(--keyward-surface, #1f2937);
    --kw-accent: var(--keyward-accent, #93b4fd);
    --kw-accent-fg: var(--keyward-accent-fg, #0b1120);
    --kw-danger: var(--keyward-danger, #fca5a5);
    --kw-danger-fg: var(--keyward-danger-fg, #1f0a0a);
    --kw-ok: var(--keyward-ok, #86efac);
    color-scheme: dark;
  }
}
[hidden] { display: none !important; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
header { display: flex; align-items: center; justify-content: space-between; gap: 1rem; margin-bottom: 0.75rem; }
h2 { font-size: 1.25rem; margin: 0; }
h3 { font-size: 1.125rem; margin: 0 0 0.75rem; }
button, input, select, textarea { font: inherit; color: inherit; }
button {
  border: 1px solid var(--kw-border); background: var(--kw-surface); border-radius: var(--kw-radius);
  padding: 0.375rem 0.75rem; cursor: pointer;
}
button.primary { background: var(--kw-accent); color: var(--kw-accent-fg); border-color: var(--kw-accent); }
button.danger { background: var(--kw-danger); color: var(--kw-danger-fg); border-color: var(--kw-danger); }
button:disabled { opacity: 0.6; cursor: default; }
button:focus-visible, input:focus-visible, select:focus-visible, textarea:focus-visible {
  outline: 2px solid var(--kw-accent); outline-offset: 2px;
}
.tools { display: flex; gap: 0.5rem; }
.scroll { overflow-x: auto; border: 1px solid var(--kw-border); border-radius: var(--kw-radius); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 0.5rem 0.625rem; border-bottom: 1px solid var(--kw-border); vertical-align: top; }
td:first-child { min-width: 11rem; }
th { font-weight: 600; background: var(--kw-surface); }
tr:last-child td { border-bottom: 0; }
code, .secret { font-family: var(--kw-mono); font-size: 0.875em; }
.muted { color: var(--kw-muted); }
.small { font-size: 0.8125rem; }
.chip {
  display: inline-block; white-space: nowrap; border: 1px solid var(--kw-border); border-radius: 999px;
  padding: 0 0.5rem; margin: 0 0.25rem 0.25rem 0;
}
.state-active { color: var(--kw-ok); }
.state-revoked, .state-expired { color: var(--kw-danger); }
.actions { display: flex; flex-wrap: wrap; gap: 0.375rem; }
nav { display: flex; align-items: center; gap: 0.75rem; margin-top: 0.75rem; }
[role='alert'] { color: var(--kw-danger); margin: 0.5rem 0; }
[role='alert']:empty, [role='status']:empty { display: none; }
[role='status'] { color: var(--kw-muted); margin: 0.5rem 0; }
dialog {
  color: var(--kw-fg); background: var(--kw-bg); border: 1px solid var(--kw-border); border-radius: var(--kw-radius);
  padding: 1.25rem; width: min(36rem, calc(100vw - 2rem)); box-sizing: border-box;
}
dialog::backdrop { background: rgb(0 0 0 / 0.45); }
.field { margin-bottom: 0.875rem; }
.field > label, fieldset > legend { display: block; font-weight: 600; margin-bottom: 0.25rem; }
fieldset { border: 0; padding: 0; margin: 0 0 0.875rem; }
fieldset label { margin-right: 1rem; white-space: nowrap; }
input[type='text'], input[type='date'], input[type='number'], textarea, select {
  background: var(--kw-bg); border: 1px solid var(--kw-border); border-radius: var(--kw-radius); padding: 0.375rem 0.5rem;
}
input[type='text'], textarea { width: 100%; box-sizing: border-box; }
input[type='number'] { width: 9rem; }
textarea { min-height: 3.5rem; }
[aria-invalid='true'] { border-color: var(--kw-danger); }
.hint { color: var(--kw-muted); font-size: 0.8125rem; margin: 0.25rem 0 0; }
.error { color: var(--kw-danger); font-size: 0.8125rem; margin: 0.25rem 0 0; }
.error:empty { display: none; }
.row { display: flex; gap: 0.5rem; align-items: center; }
.buttons { display: flex; justify-content: flex-end; gap: 0.5rem; margin-top: 1rem; }
.secret { width: 100%; box-sizing: border-box; padding: 0.5rem; }
.warning { font-weight: 600; }
`
