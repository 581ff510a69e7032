import { fill, type KeywardKeysText } from './text.js'

/**
 * What the create form holds, as typed.
 *
 * @example
 * ```ts
 * const form: CreateForm = {
 *   name: 'CI', description: '', projects: ['site-a'], scopes: ['read'], origins: '', ips: '', rate: '', windowMs: 3_600_000, expires: '',
 * }
 * ```
 */
export interface CreateForm {
  name: string
  description: string
  projects: string[]
  scopes: string[]
  origins: string
  ips: string
  rate: string
  windowMs: number
  /** `YYYY-MM-DD` from a date input, or ''. */
  expires: string
}

// eslint-disable-next-line no-control-regex -- the same rule as the server's (src/keys/input.ts)
const CONTROL = /[\u0000-\u001f\u007f]/
const lines = (text: string) => [
  ...new Set(
    text
      .split(/[\n,]/)
      .map((s) => s.trim())
      .filter(Boolean),
  ),
]

function isHost(entry: string): boolean {
  if (/[*\s]/.test(entry) || entry.endsWith('.')) return false
  try {
    const url = new URL(entry.includes('://') ? entry : `http://${entry}`)
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.pathname === '/' && url.search === '' && url.hostname !== ''
  } catch {
    return false
  }
}

function isNetwork(entry: string): boolean {
  const [address = '', prefix, extra] = entry.split('/')
  if (extra !== undefined || (prefix !== undefined && !/^\d{1,3}$/.test(prefix))) return false
  const bits = prefix === undefined ? undefined : Number(prefix)
  const v4 = address.split('.')
  if (v4.length === 4 && v4.every((part) => /^\d{1,3}$/.test(part) && Number(part) <= 255)) return bits === undefined || bits <= 32
  return address.includes(':') && /^[0-9a-fA-F:.]+$/.test(address) && (bits === undefined || bits <= 128)
}

/**
 * The form's input for `POST /keys`, or the message for each bad field: the same rules the
 * server applies (lengths, lists, hostnames, addresses, a future expiry within the caller's),
 * so most mistakes are caught before a round trip. The server still decides, and its field
 * errors are shown the same way.
 *
 * @example
 * ```ts
 * const { input, errors } = checkCreateForm(form, text, { maxExpiresAt: null, now: Date.now() })
 * ```
 */
export function checkCreateForm(
  form: CreateForm,
  text: KeywardKeysText,
  limits: { maxExpiresAt: string | null; now: number },
): { input: Record<string, unknown>; errors: Record<string, string> } {
  const errors: Record<string, string> = {}
  const input: Record<string, unknown> = {}
  const name = form.name.trim()
  if (name === '') errors.name = text.errRequired
  else if ([...name].length > 100) errors.name = fill(text.errTooLong, { n: 100 })
  else if (CONTROL.test(name)) errors.name = text.errControl
  input.name = name
  const description = form.description.trim()
  if ([...description].length > 500) errors.description = fill(text.errTooLong, { n: 500 })
  else if (CONTROL.test(description)) errors.description = text.errControl
  if (description !== '') input.description = description
  const projects = [...new Set(form.projects.map((p) => p.trim()).filter(Boolean))]
  if (projects.length === 0) errors.projects = text.errProjects
  else if (projects.some((p) => [...p].length > 128)) errors.projects = fill(text.errTooLong, { n: 128 })
  input.projects = projects
  if (form.scopes.length === 0) errors.scopes = text.errScopes
  input.scopes = form.scopes
  const origins = lines(form.origins)
  const badOrigin = origins.find((o) => !isHost(o))
  if (origins.length > 100) errors.allowedOrigins = fill(text.errTooMany, { n: 100 })
  else if (badOrigin !== undefined) errors.allowedOrigins = fill(text.errOrigin, { name: badOrigin })
  if (origins.length > 0) input.allowedOrigins = origins
  const ips = lines(form.ips)
  const badIp = ips.find((ip) => !isNetwork(ip))
  if (ips.length > 100) errors.allowedIps = fill(text.errTooMany, { n: 100 })
  else if (badIp !== undefined) errors.allowedIps = fill(text.errIp, { name: badIp })
  if (ips.length > 0) input.allowedIps = ips
  if (form.rate.trim() !== '') {
    const limit = Number(form.rate)
    if (!/^\d+$/.test(form.rate.trim()) || limit < 1 || limit > 1e9) errors.rateLimit = text.errRate
    else input.rateLimit = { limit, windowMs: form.windowMs }
  }
  const max = limits.maxExpiresAt === null ? null : Date.parse(limits.maxExpiresAt)
  if (form.expires !== '') {
    // The end of the chosen day, in UTC: a key chosen to expire "on" a day works all that day.
    const at = Date.parse(`${form.expires}T23:59:59.999Z`)
    const maxDay = max === null ? null : new Date(max).toISOString().slice(0, 10)
    if (!Number.isFinite(at) || at <= limits.now) errors.expiresAt = text.errFuture
    else if (maxDay !== null && form.expires > maxDay) errors.expiresAt = fill(text.errLater, { date: maxDay })
    else input.expiresAt = new Date(max === null ? at : Math.min(at, max)).toISOString()
  } else if (max !== null) {
    errors.expiresAt = fill(text.errLater, { date: new Date(max).toISOString().slice(0, 10) })
  }
  return { input, errors }
}

/**
 * The form field a server error names: `allowedIps[2]` and `rateLimit.limit` belong to
 * `allowedIps` and `rateLimit`.
 *
 * @example
 * ```ts
 * fieldOf('projects[0]') // 'projects'
 * ```
 */
export function fieldOf(serverField: string): string {
  return serverField.split(/[.[]/, 1)[0]!
}
