/**
 * `<keyward-keys>`: the "Settings → API keys" page as one custom element, over keyward's
 * management routes. No dependency, no framework: it works in plain HTML, React, Vue or Svelte.
 *
 * @example
 * ```html
 * <script type="module" src="/admin/ui/keyward-keys.js"></script>
 * <keyward-keys base-url="/admin" theme="auto"></keyward-keys>
 * ```
 */
import { ManagementApi, type ApiAnswer } from './api.js'
import { checkCreateForm, fieldOf, type CreateForm } from './checks.js'
import { h, uid } from './dom.js'
import { keyState, formatDate } from './format.js'
import { STYLES } from './styles.js'
import { DEFAULT_TEXT, fill, type KeywardKeysText } from './text.js'

export { DEFAULT_TEXT, type KeywardKeysText } from './text.js'

/** Where the component gets a bearer credential from, on every request. */
type TokenSource = () => string | undefined | null | Promise<string | undefined | null>

/** A key as the routes list it (`KeyInfo` as JSON). */
interface KeyRow {
  id: string
  displayPrefix: string
  /** `live` or `test`: the server changes only keys of the caller's own environment. */
  environment: string
  name: string
  description: string | null
  projects: string[]
  scopes: string[]
  allowedOrigins: string[]
  allowedIps: string[]
  /** The key's rules; the form shows and edits a single one, and leaves several as they are. */
  rateLimit?: Array<{ limit: number; windowMs: number; [more: string]: unknown }>
  metadata: Record<string, unknown>
  expiresAt: string | null
  createdAt: string
  lastUsedAt: string | null
  revokedAt: string | null
  rotatedTo: string | null
}

/** `GET /capabilities`, as the component reads it. */
interface Capabilities {
  actions: string[]
  scopes: string[]
  projects: string[] | '*'
  /** The caller's environment: the keys it may change or rotate are of this one only. */
  environment: string
  maxExpiresAt: string | null
  /** A caller held to addresses or origins: its own lists, which the keys it creates must stay within. */
  placeBounds?: { allowedIps: string[]; allowedOrigins: string[] } | null
  fields: string[]
}

/** Closes the dialog a button (or the button an event came from) is in. */
function closeDialog(from: Event | Element): void {
  const element = from instanceof Event ? (from.currentTarget as Element | null) : from
  element?.closest('dialog')?.close()
}

const WINDOWS = [
  ['perSecond', 1000],
  ['perMinute', 60_000],
  ['perHour', 3_600_000],
  ['perDay', 86_400_000],
] as const
/**
 * What an edit sends for a field the user emptied: the create form simply omits it, but an update
 * must say "none" explicitly, or the key would keep its old value.
 */
const CLEARED: Record<string, unknown> = { description: null, allowedOrigins: [], allowedIps: [], rateLimit: null, expiresAt: null }

const GRACE = [
  ['graceNone', 0],
  ['graceHour', 3_600_000],
  ['graceDay', 86_400_000],
  ['graceWeek', 7 * 86_400_000],
] as const

/**
 * The element class, registered as `keyward-keys` when the module loads (unless that name is
 * taken). Attributes: `base-url` (where the management routes are mounted, default `''`),
 * `page-size` (1-100, default 20), `theme` (`light`, `dark` or `auto`), `csrf-header` (default
 * `x-keyward-csrf`), `credentials` (`same-origin`, `include` or `omit`; default `same-origin`).
 * Properties: `token` / `getToken` (a bearer credential, asked for on every request and never
 * stored), `text` (words, for localisation). Events (no secret in them): `keyward-created`,
 * `keyward-updated`, `keyward-rotated`, `keyward-revoked` with `detail.key` the key's public information.
 *
 * @example
 * ```ts
 * import 'keyward/ui'
 * const element = document.createElement('keyward-keys')
 * element.setAttribute('base-url', '/admin')
 * element.getToken = () => session.accessToken
 * document.body.append(element)
 * ```
 */
export class KeywardKeysElement extends HTMLElement {
  static readonly observedAttributes = ['base-url', 'page-size']

  #getToken: TokenSource | undefined

  readonly #root: ShadowRoot
  readonly #api: ManagementApi
  #text: KeywardKeysText = { ...DEFAULT_TEXT }
  #caps: Capabilities | undefined
  #rows: KeyRow[] = []
  /** The `after` cursor of each page seen: [undefined, page2Cursor, ...]. */
  #cursors: Array<string | undefined> = [undefined]
  #page = 0
  #next: string | null = null
  #loading = false
  #status: HTMLElement
  #alert: HTMLElement
  #body: HTMLElement
  #connected = false

  constructor() {
    super()
    this.#root = this.attachShadow({ mode: 'open' })
    this.#api = new ManagementApi(() => ({
      baseUrl: this.getAttribute('base-url') ?? '',
      csrfHeader: this.getAttribute('csrf-header') ?? 'x-keyward-csrf',
      credentials: (['include', 'omit'].includes(this.getAttribute('credentials') ?? '')
        ? this.getAttribute('credentials')
        : 'same-origin') as RequestCredentials,
      token: this.#getToken,
    }))
    this.#status = h('p', { role: 'status', part: 'status' })
    this.#alert = h('p', { role: 'alert', part: 'error' })
    this.#body = h('div')
  }

  /** A bearer credential for the routes, asked for on every request; kept by the page, not here. */
  get getToken(): TokenSource | undefined {
    return this.#getToken
  }

  set getToken(value: TokenSource | undefined) {
    this.#getToken = typeof value === 'function' ? value : undefined
  }

  /** Sets a fixed bearer token (a shorthand for `getToken = () => token`); it cannot be read back. */
  set token(value: string | undefined) {
    this.#getToken = typeof value === 'string' ? () => value : undefined
  }

  /** The words shown: every default, with the ones set here replacing them. */
  get text(): KeywardKeysText {
    return { ...this.#text }
  }

  set text(value: Partial<KeywardKeysText>) {
    this.#text = { ...DEFAULT_TEXT }
    for (const [name, word] of Object.entries(value ?? {}))
      if (name in DEFAULT_TEXT && typeof word === 'string') this.#text[name as keyof KeywardKeysText] = word
    if (this.#connected) this.#render()
  }

  connectedCallback(): void {
    if (this.#connected) return
    // Properties the page set before this module defined the element sit on the instance and
    // hide the accessors: move them through the accessors.
    for (const name of ['getToken', 'token', 'text'] as const) {
      if (!Object.hasOwn(this, name)) continue
      const value: unknown = (this as Record<string, unknown>)[name]
      delete (this as Record<string, unknown>)[name]
      ;(this as Record<string, unknown>)[name] = value
    }
    this.#connected = true
    // A constructed style sheet is not inline style: a page with a strict CSP (no 'unsafe-inline') still styles it.
    if ('adoptedStyleSheets' in this.#root && typeof CSSStyleSheet === 'function' && 'replaceSync' in CSSStyleSheet.prototype) {
      const sheet = new CSSStyleSheet()
      sheet.replaceSync(STYLES)
      this.#root.adoptedStyleSheets = [sheet]
      this.#root.replaceChildren(this.#body)
    } else {
      const sheet = h('style')
      sheet.textContent = STYLES
      this.#root.replaceChildren(sheet, this.#body)
    }
    void this.reload()
  }

  attributeChangedCallback(): void {
    if (this.#connected) void this.reload()
  }

  /** Asks the server again what this caller may do, and shows the first page. */
  async reload(): Promise<void> {
    this.#cursors = [undefined]
    this.#page = 0
    const caps = await this.#api.call('GET', '/capabilities')
    if (caps.status !== 200) {
      this.#caps = undefined
      this.#rows = []
      this.#render()
      return this.#fail(caps)
    }
    this.#caps = caps.body as unknown as Capabilities
    await this.#load()
  }

  get #pageSize(): number {
    const n = Number(this.getAttribute('page-size') ?? 20)
    return Number.isInteger(n) && n >= 1 && n <= 100 ? n : 20
  }

  #can(action: string): boolean {
    return this.#caps?.actions.includes(action) === true
  }

  async #load(): Promise<void> {
    if (!this.#can('keys.list')) return this.#render()
    this.#loading = true
    this.#render()
    const after = this.#cursors[this.#page]
    const query = `?limit=${this.#pageSize}&includeRevoked=true${after === undefined ? '' : `&after=${encodeURIComponent(after)}`}`
    const answer = await this.#api.call('GET', `/keys${query}`)
    this.#loading = false
    if (answer.status === 200) {
      this.#rows = (answer.body.data as KeyRow[]) ?? []
      this.#next = typeof answer.body.next === 'string' ? answer.body.next : null
      this.#alert.textContent = ''
    } else this.#fail(answer)
    this.#render()
  }

  #say(message: string): void {
    this.#status.textContent = message
  }

  /** Shows a refusal in words the user can act on; the server's own detail only for a bad request. */
  #fail(answer: ApiAnswer, where: HTMLElement = this.#alert): void {
    const t = this.#text
    const detail = typeof answer.body.detail === 'string' ? answer.body.detail : undefined
    where.textContent =
      answer.status === 0
        ? t.errNetwork
        : answer.status === 401
          ? t.errSignIn
          : answer.status === 403
            ? (detail ?? t.errForbidden)
            : answer.status === 503
              ? t.errUnavailable
              : answer.status === 400 || answer.status === 404 || answer.status === 409
                ? (detail ?? fill(t.errGeneric, { n: answer.status }))
                : fill(t.errGeneric, { n: answer.status })
  }

  #render(): void {
    const t = this.#text
    const heading = h('h2', { id: 'kw-title', part: 'title' }, t.title)
    const tools = h(
      'div',
      { class: 'tools' },
      h('button', { type: 'button', part: 'button', onclick: () => void this.reload() }, t.refresh),
      this.#can('keys.create') &&
        h('button', { type: 'button', class: 'primary', part: 'button primary', onclick: () => this.#openForm() }, t.create),
    )
    const content: Node[] = [h('header', { part: 'header' }, heading, tools), this.#status, this.#alert]
    if (this.#caps !== undefined && this.#can('keys.list')) {
      if (this.#loading) this.#say(t.loading)
      else if (this.#status.textContent === t.loading) this.#say('')
      content.push(this.#rows.length === 0 && !this.#loading ? h('p', { class: 'muted', part: 'empty' }, t.empty) : this.#table())
      content.push(this.#pager())
    }
    this.#body.replaceChildren(h('section', { 'aria-labelledby': 'kw-title', part: 'container' }, ...content))
  }

  #table(): HTMLElement {
    const t = this.#text
    const cols = [
      t.colName,
      t.colPrefix,
      t.colProjects,
      t.colScopes,
      t.colRestrictions,
      t.colCreated,
      t.colLastUsed,
      t.colExpires,
      t.colState,
    ]
    const withActions = this.#can('keys.update') || this.#can('keys.rotate') || this.#can('keys.revoke')
    const head = h('tr', {}, ...cols.map((c) => h('th', { scope: 'col' }, c)), withActions && h('th', { scope: 'col' }, t.colActions))
    const rows = this.#rows.map((row) => this.#rowOf(row, withActions))
    return h(
      'div',
      { class: 'scroll', part: 'table-wrapper' },
      h('table', { part: 'table' }, h('caption', { class: 'sr' }, t.title), h('thead', {}, head), h('tbody', {}, ...rows)),
    )
  }

  /**
   * Whether this caller may edit or rotate `row`: the server refuses any change or rotation of a key
   * of another environment or that holds more than the caller may grant (a project or scope outside
   * its own, a later or no expiry, places outside its own), even a change of name. Place bounds are
   * judged by exact entries: each list the caller has, the key has too, with entries the caller's
   * list holds word for word; each list the caller lacks, the key lacks too. A key the server would
   * accept by subnet or by restriction mode may then show no Edit; the API still changes it.
   */
  #editable(row: KeyRow): boolean {
    const caps = this.#caps
    if (caps === undefined || row.environment !== caps.environment) return false
    if (caps.projects !== '*' && row.projects.some((project) => !caps.projects.includes(project))) return false
    if (row.scopes.some((scope) => !caps.scopes.includes(scope))) return false
    if (caps.maxExpiresAt !== null && (row.expiresAt === null || Date.parse(row.expiresAt) > Date.parse(caps.maxExpiresAt))) return false
    const bounds = caps.placeBounds ?? null
    if (bounds === null) return true
    const within = (held: string[], own: string[]) =>
      held.length === 0 ? own.length === 0 : own.length > 0 && own.every((entry) => held.includes(entry))
    return within(bounds.allowedIps, row.allowedIps) && within(bounds.allowedOrigins, row.allowedOrigins)
  }

  #rowOf(row: KeyRow, withActions: boolean): HTMLElement {
    const t = this.#text
    const lang = this.closest('[lang]')?.getAttribute('lang') ?? undefined
    const when = (iso: string, withTime: boolean) => h('time', { datetime: iso, title: iso }, formatDate(iso, lang, withTime))
    const chips = (items: string[]) => h('td', {}, ...items.map((item) => h('span', { class: 'chip' }, item)))
    const restrictions = [...row.allowedOrigins, ...row.allowedIps]
    const state = keyState(row, Date.now())
    const metadata = Object.keys(row.metadata ?? {}).length === 0 ? null : JSON.stringify(row.metadata)
    const nameCell = h(
      'td',
      {},
      h('div', { class: 'name' }, row.name),
      row.description !== null && row.description !== '' && h('div', { class: 'muted small' }, row.description),
      metadata !== null && h('div', { class: 'muted small' }, `${t.metadata}: `, h('code', {}, metadata)),
    )
    const live = state === 'active'
    // One row button: its visible word, and an accessible name that says which key it acts on.
    const action = (label: string, text: string, onclick: () => void, danger = false) =>
      h(
        'button',
        {
          type: 'button',
          class: danger && 'danger',
          part: danger ? 'button danger' : 'button',
          'aria-label': fill(label, { name: row.name }),
          onclick,
        },
        text,
      )
    // Edit and Rotate only where the server would accept them (see #editable); Revoke always narrows.
    const changeable = live && this.#editable(row)
    const actions =
      withActions &&
      h(
        'td',
        {},
        h(
          'div',
          { class: 'actions' },
          this.#can('keys.update') && changeable && action(t.editLabel, t.edit, () => this.#openForm(row)),
          this.#can('keys.rotate') && changeable && action(t.rotateLabel, t.rotate, () => this.#openRotate(row)),
          this.#can('keys.revoke') && row.revokedAt === null && action(t.revokeLabel, t.revoke, () => this.#openRevoke(row), true),
        ),
      )
    const words = { active: t.stateActive, revoked: t.stateRevoked, expired: t.stateExpired, rotated: t.stateRotated }
    return h(
      'tr',
      { part: 'row', 'data-key-id': row.id },
      nameCell,
      h('td', {}, h('code', {}, row.displayPrefix)),
      chips(row.projects),
      chips(row.scopes),
      restrictions.length === 0 ? h('td', { class: 'muted' }, t.anyOrigin) : chips(restrictions),
      h('td', {}, when(row.createdAt, false)),
      h('td', { class: row.lastUsedAt === null ? 'muted' : '' }, row.lastUsedAt === null ? t.neverUsed : when(row.lastUsedAt, true)),
      h('td', {}, row.expiresAt === null ? t.never : when(row.expiresAt, false)),
      h('td', { class: `state-${state}` }, words[state]),
      actions,
    )
  }

  #pager(): HTMLElement {
    const t = this.#text
    const go = (page: number) => {
      this.#page = page
      void this.#load()
    }
    return h(
      'nav',
      { 'aria-label': t.title, part: 'pagination' },
      h('button', { type: 'button', part: 'button', disabled: this.#page === 0, onclick: () => go(this.#page - 1) }, t.previous),
      h('span', {}, fill(t.page, { n: this.#page + 1 })),
      h(
        'button',
        {
          type: 'button',
          part: 'button',
          disabled: this.#next === null,
          onclick: () => {
            this.#cursors[this.#page + 1] = this.#next ?? undefined
            go(this.#page + 1)
          },
        },
        t.next,
      ),
    )
  }

  /** A modal dialog in the shadow root; removed from the DOM (with what it showed) once closed. */
  #dialog(label: string, ...children: Node[]): HTMLDialogElement {
    const titleId = uid('dialog')
    const dialog = h('dialog', { part: 'dialog', 'aria-labelledby': titleId }, h('h3', { id: titleId }, label), ...children)
    dialog.addEventListener('close', () => dialog.remove())
    this.#root.append(dialog)
    dialog.showModal()
    return dialog
  }

  #field(label: string, control: HTMLElement, hint?: string): { wrap: HTMLElement; error: HTMLElement } {
    const id = uid('field')
    const errorId = `${id}-error`
    const hintId = `${id}-hint`
    control.id = id
    control.setAttribute('aria-describedby', hint === undefined ? errorId : `${hintId} ${errorId}`)
    const error = h('p', { id: errorId, class: 'error', part: 'field-error' })
    const wrap = h(
      'div',
      { class: 'field', part: 'field' },
      h('label', { for: id }, label),
      control,
      hint !== undefined && h('p', { id: hintId, class: 'hint' }, hint),
      error,
    )
    return { wrap, error }
  }

  /**
   * The create form, or with `row` the same form to edit that key: prefilled with its values,
   * offering the same fields, scopes and projects, and sending only what the user changed.
   */
  #openForm(row?: KeyRow): void {
    const t = this.#text
    const caps = this.#caps!
    const rule = row?.rateLimit?.[0]
    // Several rules: one field cannot say which to change, and a change would replace them all.
    const several = (row?.rateLimit?.length ?? 0) > 1
    const offers = (field: string) => caps.fields.includes(field)
    const errors = new Map<string, { control: HTMLElement; error: HTMLElement }>()
    const parts: Node[] = []
    const add = (field: string, entry: { wrap: HTMLElement; error: HTMLElement }, control: HTMLElement) => {
      errors.set(field, { control, error: entry.error })
      parts.push(entry.wrap)
    }
    const name = h('input', { type: 'text', name: 'name', required: true, maxlength: 100, autocomplete: 'off' })
    name.value = row?.name ?? ''
    add('name', this.#field(t.fieldName, name), name)
    const description = h('textarea', { name: 'description', maxlength: 500 })
    description.value = row?.description ?? ''
    if (offers('description')) add('description', this.#field(t.fieldDescription, description), description)
    // `held`: the key's own values, when editing; all among `offered`, or the key shows no Edit (#editable).
    const checkboxes = (field: string, legend: string, values: string[], checked: (value: string) => boolean, held?: string[]) => {
      const errorId = uid('group-error')
      const boxes = values.map((value) =>
        h('input', { type: 'checkbox', name: field, value, checked: held === undefined ? checked(value) : held.includes(value) }),
      )
      const error = h('p', { id: errorId, class: 'error', part: 'field-error' })
      const group = h(
        'fieldset',
        { part: 'field', 'aria-describedby': errorId },
        h('legend', {}, legend),
        ...boxes.map((box, i) => h('label', {}, box, ` ${values[i]}`)),
        error,
      )
      errors.set(field, { control: group, error })
      parts.push(group)
      return () => boxes.filter((box) => box.checked).map((box) => box.value)
    }
    let projects: () => string[]
    if (caps.projects === '*') {
      const input = h('input', { type: 'text', name: 'projects', autocomplete: 'off' })
      input.value = row?.projects.join(', ') ?? ''
      add('projects', this.#field(t.fieldProjects, input, t.fieldProjectsHint), input)
      projects = () => input.value.split(',')
    } else {
      const only = caps.projects.length === 1
      projects = checkboxes('projects', t.fieldProjects, caps.projects, () => only, row?.projects)
    }
    // Not offered: a new key gets the least scope, an edited key keeps its own (unchanged, so not sent).
    let scopes = () => row?.scopes ?? (caps.scopes.includes('read') ? ['read'] : caps.scopes.slice(0, 1))
    if (offers('scopes')) {
      scopes = checkboxes(
        'scopes',
        t.fieldScopes,
        caps.scopes,
        (scope) => scope === 'read' || (caps.scopes.length === 1 && caps.scopes[0] === scope),
        row?.scopes,
      )
    }
    // A caller held to addresses or origins grants only keys held within them: the form starts
    // from its own lists (always within), shown even where the app offers no such field.
    const bounds = caps.placeBounds ?? { allowedIps: [], allowedOrigins: [] }
    const origins = h('textarea', { name: 'allowedOrigins' })
    origins.value = (row?.allowedOrigins ?? bounds.allowedOrigins).join('\n')
    if (offers('allowedOrigins') || bounds.allowedOrigins.length > 0)
      add('allowedOrigins', this.#field(t.fieldOrigins, origins, t.fieldOriginsHint), origins)
    const ips = h('textarea', { name: 'allowedIps' })
    ips.value = (row?.allowedIps ?? bounds.allowedIps).join('\n')
    if (offers('allowedIps') || bounds.allowedIps.length > 0) add('allowedIps', this.#field(t.fieldIps, ips, t.fieldIpsHint), ips)
    const rate = h('input', { type: 'number', name: 'rateLimit', min: 1, step: 1, inputmode: 'numeric' })
    rate.value = rule === undefined || several ? '' : String(rule.limit)
    const windowId = uid('window')
    const windowWord = (ms: number) => WINDOWS.find(([, known]) => known === ms)?.[0]
    const windows: Array<[string, number]> = WINDOWS.map(([word, ms]) => [t[word], ms])
    // A key's window the list does not offer (set by the app, say) is shown as it is, not as another.
    if (rule !== undefined && !several && windowWord(rule.windowMs) === undefined)
      windows.push([fill(t.perSeconds, { n: rule.windowMs / 1000 }), rule.windowMs])
    const window = h(
      'select',
      { id: windowId, name: 'window' },
      // Several rules: no window chosen, as no rate is shown (one field cannot say which rule).
      several && h('option', { value: '', selected: true }, ''),
      ...windows.map(([word, ms]) => h('option', { value: ms, selected: !several && ms === (rule?.windowMs ?? 3_600_000) }, word)),
    )
    rate.disabled = window.disabled = several
    if (offers('rateLimit')) {
      // Several rules are listed in the hint instead: "100 per minute, 5,000 per day".
      const lang = this.closest('[lang]')?.getAttribute('lang') ?? undefined
      const rules = (row?.rateLimit ?? []).map((r) => {
        const word = windowWord(r.windowMs)
        return fill(t.rateRule, {
          n: r.limit.toLocaleString(lang),
          window: word === undefined ? fill(t.perSeconds, { n: (r.windowMs / 1000).toLocaleString(lang) }) : t[word],
        })
      })
      const entry = this.#field(
        t.fieldRateLimit,
        rate,
        several ? fill(t.fieldRateSeveral, { rules: rules.join(', '), n: rules.length }) : undefined,
      )
      entry.wrap.insertBefore(
        h('div', { class: 'row' }, rate, h('label', { for: windowId }, t.fieldRateWindow), window),
        entry.wrap.children[2] ?? null,
      )
      add('rateLimit', entry, rate)
    }
    const expires = h('input', { type: 'date', name: 'expiresAt', min: new Date(Date.now() + 86_400_000).toISOString().slice(0, 10) })
    if (caps.maxExpiresAt !== null) {
      expires.max = caps.maxExpiresAt.slice(0, 10)
      expires.required = true
    }
    // The key's expiry day in UTC: the day the form's end-of-day-UTC rule gives back unchanged.
    expires.value = row?.expiresAt?.slice(0, 10) ?? ''
    if (offers('expiresAt') || caps.maxExpiresAt !== null) {
      const hint = caps.maxExpiresAt === null ? t.fieldExpiresHint : fill(t.fieldExpiresMax, { date: caps.maxExpiresAt.slice(0, 10) })
      add('expiresAt', this.#field(t.fieldExpires, expires, hint), expires)
    }
    const formError = h('p', { role: 'alert', part: 'error' })
    const submit = h('button', { type: 'submit', class: 'primary', part: 'button primary' }, row ? t.submitEdit : t.submitCreate)
    const form = h('form', { novalidate: true }, formError, ...parts)
    const cancel = h('button', { type: 'button', part: 'button', onclick: closeDialog }, t.cancel)
    form.append(h('div', { class: 'buttons' }, cancel, submit))
    const show = (messages: Record<string, string>) => {
      for (const [field, { control, error }] of errors) {
        const message = messages[field]
        error.textContent = message ?? ''
        if (message === undefined) control.removeAttribute('aria-invalid')
        else control.setAttribute('aria-invalid', 'true')
      }
      const first = [...errors.entries()].find(([field]) => messages[field] !== undefined)
      if (first !== undefined) {
        formError.textContent = t.errForm
        ;(first[1].control.querySelector('input') ?? first[1].control).focus()
      } else formError.textContent = ''
    }
    const read = (): CreateForm => ({
      name: name.value,
      description: description.value,
      projects: projects(),
      scopes: scopes(),
      origins: origins.value,
      ips: ips.value,
      rate: rate.value,
      windowMs: Number(window.value),
      expires: expires.value,
    })
    // What the user typed, per request field: an edit compares it with the form as it opened.
    const typed = (v: CreateForm): Record<string, string> => ({
      name: v.name,
      description: v.description,
      projects: JSON.stringify(v.projects),
      scopes: JSON.stringify(v.scopes),
      allowedOrigins: v.origins,
      allowedIps: v.ips,
      // No rate: no rule, whatever the window says.
      rateLimit: v.rate.trim() === '' ? '' : `${v.rate} ${v.windowMs}`,
      expiresAt: v.expires,
    })
    const opened = typed(read())
    form.addEventListener('submit', (event) => {
      event.preventDefault()
      const values = read()
      const checked = checkCreateForm(values, t, { maxExpiresAt: caps.maxExpiresAt, now: Date.now() })
      let { input, errors: found } = checked
      // A number the browser cannot read (`1e`, `-`) has the value '': not "emptied", a mistake.
      const unreadable = !rate.disabled && rate.validity.badInput
      let unchanged = false
      if (row !== undefined) {
        // Only the fields the user changed are checked and sent: an untouched value stays on the key
        // as it is, and several rate-limit rules (no field edits them) are never sent.
        const now = typed(values)
        const changed = Object.keys(now).filter((field) => now[field] !== opened[field] && !(several && field === 'rateLimit'))
        found = Object.fromEntries(Object.entries(found).filter(([field]) => changed.includes(field)))
        input = Object.fromEntries(changed.map((field) => [field, checked.input[field] ?? CLEARED[field]]))
        // A rule's algorithm and name are not in the form: keep them when only limit or window change.
        if (rule !== undefined && typeof input.rateLimit === 'object' && input.rateLimit !== null)
          input.rateLimit = { ...rule, ...input.rateLimit }
        unchanged = changed.length === 0
      }
      if (unreadable) found = { ...found, rateLimit: t.errRate }
      if (unchanged && Object.keys(found).length === 0) return closeDialog(submit)
      show(found)
      if (Object.keys(found).length > 0) return
      submit.disabled = true
      const request =
        row === undefined ? this.#api.call('POST', '/keys', input) : this.#api.call('PATCH', `/keys/${encodeURIComponent(row.id)}`, input)
      void request.then((answer) => {
        submit.disabled = false
        if (answer.status === 201 && row === undefined) {
          closeDialog(submit)
          const info = answer.body.info as KeyRow
          this.#say(fill(t.created, { name: info.name }))
          this.#emit('keyward-created', info)
          this.#showSecret(answer.body.key as string)
          return void this.#load()
        }
        if (answer.status === 200 && row !== undefined) {
          closeDialog(submit)
          const info = answer.body as unknown as KeyRow
          this.#say(fill(t.updated, { name: info.name }))
          this.#emit('keyward-updated', info)
          return void this.#load()
        }
        const issues = Array.isArray(answer.body.errors) ? (answer.body.errors as Array<{ field?: unknown; message?: unknown }>) : []
        const messages: Record<string, string> = {}
        // Issues of fields the form does not show: said in the form's error, never dropped.
        const elsewhere: string[] = []
        for (const issue of issues) {
          if (typeof issue.message !== 'string') continue
          const field = typeof issue.field === 'string' ? fieldOf(issue.field) : ''
          if (errors.has(field)) messages[field] = (messages[field] ? `${messages[field]} ` : '') + issue.message
          else elsewhere.push(typeof issue.field === 'string' ? `${issue.field}: ${issue.message}` : issue.message)
        }
        show(messages)
        const matched = Object.keys(messages).length > 0
        if (!matched) this.#fail(answer, formError)
        // As text, whatever the server's words: never parsed as HTML.
        if (elsewhere.length > 0) formError.textContent = `${matched ? t.errForm : formError.textContent} ${elsewhere.join('; ')}`
      })
    })
    this.#dialog(row === undefined ? t.createTitle : fill(t.editTitle, { name: row.name }), form)
    name.focus()
  }

  /**
   * The secret, once. It lives only in this dialog's input `value` (a property, never an
   * attribute) and this closure; closing the dialog empties the input and removes the dialog.
   */
  #showSecret(key: string): void {
    const t = this.#text
    const secretId = uid('secret')
    const warningId = uid('warning')
    const field = h('input', {
      type: 'text',
      id: secretId,
      readonly: true,
      class: 'secret',
      part: 'secret',
      'aria-describedby': warningId,
      autocomplete: 'off',
      spellcheck: 'false',
    })
    field.value = key
    const note = h('p', { role: 'status', class: 'small' })
    const copy = h(
      'button',
      {
        type: 'button',
        part: 'button',
        onclick: () => {
          navigator.clipboard.writeText(field.value).then(
            () => (note.textContent = t.copied),
            () => {
              field.select()
              note.textContent = t.copyFailed
            },
          )
        },
      },
      t.copy,
    )
    const done = h('button', { type: 'button', class: 'primary', part: 'button primary', onclick: closeDialog }, t.done)
    const dialog = this.#dialog(
      t.secretTitle,
      h('p', { id: warningId, class: 'warning', part: 'warning' }, t.secretWarning),
      h('label', { for: secretId, class: 'sr' }, t.secretLabel),
      h('div', { class: 'row' }, field, copy),
      note,
      h('div', { class: 'buttons' }, done),
    )
    dialog.addEventListener('close', () => {
      field.value = ''
    })
    field.focus()
    field.select()
  }

  #openRevoke(row: KeyRow): void {
    const t = this.#text
    const error = h('p', { role: 'alert', part: 'error' })
    const confirm = h(
      'button',
      {
        type: 'button',
        class: 'danger',
        part: 'button danger',
        onclick: () => {
          confirm.disabled = true
          void this.#api.call('DELETE', `/keys/${encodeURIComponent(row.id)}`).then((answer) => {
            confirm.disabled = false
            if (answer.status !== 200) return this.#fail(answer, error)
            closeDialog(confirm)
            this.#say(fill(t.revoked, { name: row.name }))
            this.#emit('keyward-revoked', answer.body as unknown as KeyRow)
            void this.#load()
          })
        },
      },
      t.revokeConfirm,
    )
    const cancel = h('button', { type: 'button', part: 'button', onclick: closeDialog }, t.cancel)
    this.#dialog(
      fill(t.revokeTitle, { name: row.name }),
      h('p', {}, t.revokeWarning),
      error,
      h('div', { class: 'buttons' }, cancel, confirm),
    )
    cancel.focus()
  }

  #openRotate(row: KeyRow): void {
    const t = this.#text
    const error = h('p', { role: 'alert', part: 'error' })
    const grace = h(
      'select',
      { name: 'gracePeriodMs' },
      ...GRACE.map(([word, ms]) => h('option', { value: ms, selected: ms === 86_400_000 }, t[word])),
    )
    const field = this.#field(t.fieldGrace, grace)
    const confirm = h(
      'button',
      {
        type: 'button',
        class: 'primary',
        part: 'button primary',
        onclick: () => {
          confirm.disabled = true
          void this.#api
            .call('POST', `/keys/${encodeURIComponent(row.id)}/rotate`, { gracePeriodMs: Number(grace.value) })
            .then((answer) => {
              confirm.disabled = false
              if (answer.status !== 200) {
                const issue = Array.isArray(answer.body.errors) ? (answer.body.errors[0] as { message?: unknown } | undefined) : undefined
                if (typeof issue?.message === 'string') field.error.textContent = issue.message
                return this.#fail(answer, error)
              }
              closeDialog(confirm)
              this.#emit('keyward-rotated', answer.body.info as KeyRow)
              this.#showSecret(answer.body.key as string)
              void this.#load()
            })
        },
      },
      t.rotateConfirm,
    )
    const cancel = h('button', { type: 'button', part: 'button', onclick: closeDialog }, t.cancel)
    this.#dialog(
      fill(t.rotateTitle, { name: row.name }),
      h('p', {}, t.rotateWarning),
      error,
      field.wrap,
      h('div', { class: 'buttons' }, cancel, confirm),
    )
    grace.focus()
  }

  #emit(type: string, key: KeyRow): void {
    this.dispatchEvent(new CustomEvent(type, { detail: { key }, bubbles: true, composed: true }))
  }
}

if (typeof customElements !== 'undefined' && customElements.get('keyward-keys') === undefined) {
  customElements.define('keyward-keys', KeywardKeysElement)
}

declare global {
  interface HTMLElementTagNameMap {
    'keyward-keys': KeywardKeysElement
  }
}
