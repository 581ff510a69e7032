/** Attributes and properties of {@link h}: strings become attributes, functions listeners, `text` the text. */
export type Props = Record<string, string | boolean | number | undefined | null | ((event: Event) => void)>

/**
 * Builds an element. Data only ever goes in through `textContent`, attributes and properties,
 * never through HTML parsing: a key named `<img onerror=…>` shows as those characters.
 *
 * @example
 * ```ts
 * h('button', { type: 'button', part: 'button', onclick: () => open() }, 'Create key')
 * ```
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Array<Node | string | null | undefined | false>
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag)
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue
    if (typeof value === 'function') element.addEventListener(name.slice(2), value)
    else if (name === 'value') (element as HTMLInputElement).value = String(value)
    else element.setAttribute(name, value === true ? '' : String(value))
  }
  for (const child of children) if (child !== null && child !== undefined && child !== false) element.append(child)
  return element
}

let counter = 0

/**
 * A document-unique id for `for`, `aria-describedby` and `aria-labelledby` links.
 *
 * @example
 * ```ts
 * const id = uid('name')
 * ```
 */
export function uid(stem: string): string {
  counter += 1
  return `kw-${stem}-${counter}`
}
