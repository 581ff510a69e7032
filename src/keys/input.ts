import { KeywardError, type FieldIssue } from '../errors.js'
import { formatNetwork, parseCidr } from '../http/ip.js'
import type { Environment } from './format.js'
import { normalizeOriginRule } from '../http/origin.js'
import { isValidPolicyName } from '../http/rate-limit-headers.js'
import { isValidScope } from './scopes.js'
import { ruleAlgorithmIssue } from '../limiters/quota-algorithms.js'
import { MAX_CREDITS, MAX_REFILL_INTERVAL_MS, MIN_REFILL_INTERVAL_MS } from '../limiters/credits.js'
import type { CreditsInfo, KeyRecord, RateLimitAlgorithm, RateLimitRule } from '../types.js'

/**
 * What `kw.keys.create()` takes.
 *
 * @example
 * ```ts
 * const input: CreateKeyInput = { name: 'indexer-cron', orgId: 'org_1', projects: ['main'], allowedIps: ['203.0.113.10'] }
 * ```
 */
export interface CreateKeyInput {
  /** Required, 1-100 characters. */
  name: string
  /** At most 500 characters. */
  description?: string | null
  /** The organization the key belongs to. Required. */
  orgId: string
  /** Projects the key may act on; at least one. */
  projects: readonly string[]
  /** Default `['read']`. */
  scopes?: readonly string[]
  /** Hostnames or origins; stored as lowercase punycode hostnames. */
  allowedOrigins?: readonly string[]
  /** Legacy single-origin field (TokenKit's `domain`); same as `allowedOrigins: [domain]`. */
  domain?: string
  /** IPv4/IPv6 addresses or CIDR networks. */
  allowedIps?: readonly string[]
  /** The key's quota; omitted or null: the server's `defaultRateLimit`. */
  rateLimit?: RateLimitRule | readonly RateLimitRule[] | null
  /** Must be in the future. A Date, an ISO 8601 string or epoch milliseconds. */
  expiresAt?: Date | string | number | null
  /** Default: the server's environment. */
  environment?: Environment
  /** One of the server's prefixes; default the first. */
  prefix?: string
  /** Free-form JSON, at most 4 KiB serialized. */
  metadata?: Record<string, unknown>
  /**
   * Usage credits: `remaining` to start with, and an optional refill (every `intervalMs`, aligned
   * to the epoch, the balance is set to `amount`). Omitted or null: the key spends none. See docs/credits.md.
   */
  credits?: CreditsInput | null
}

/**
 * A key's credits as create and update take them.
 *
 * @example
 * ```ts
 * const credits: CreditsInput = { remaining: 1000, refill: { amount: 1000, intervalMs: 86_400_000 } }
 * ```
 */
export interface CreditsInput {
  /** An integer from 0 to 10^15. */
  remaining: number
  /** `amount` an integer from 0 to 10^15, `intervalMs` from 1,000 ms to one year. Omitted or null: no refill. */
  refill?: { amount: number; intervalMs: number } | null
}

/**
 * A top-up for `kw.keys.update(id, { credits: { add } })`: `add` credits added to the running
 * balance atomically in the limiter, never losing a concurrent spend.
 *
 * @example
 * ```ts
 * await kw.keys.update(id, { credits: { add: 500 } })
 * ```
 */
export interface CreditsTopUp {
  /** An integer from 1 to 10^15. */
  add: number
}

/**
 * What `kw.keys.update()` takes: any of the mutable fields. `null` clears `description`,
 * `expiresAt` and `rateLimit`; an empty list clears `allowedOrigins` or `allowedIps`.
 *
 * @example
 * ```ts
 * const patch: UpdateKeyInput = { name: 'Renamed', expiresAt: null }
 * ```
 */
export type UpdateKeyInput = Partial<
  Pick<
    CreateKeyInput,
    'name' | 'description' | 'projects' | 'scopes' | 'allowedOrigins' | 'domain' | 'allowedIps' | 'rateLimit' | 'expiresAt' | 'metadata'
  >
> & {
  /**
   * `{ remaining, refill? }` sets a new balance (it replaces the running one, spends in flight
   * included); `{ add }` tops the running balance up atomically; null removes the key's credits.
   */
  credits?: CreditsInput | CreditsTopUp | null
}

const CREATE_FIELDS = new Set([
  'name',
  'description',
  'orgId',
  'projects',
  'scopes',
  'allowedOrigins',
  'domain',
  'allowedIps',
  'rateLimit',
  'expiresAt',
  'environment',
  'prefix',
  'metadata',
  'credits',
])
const UPDATE_FIELDS = new Set([
  'name',
  'description',
  'projects',
  'scopes',
  'allowedOrigins',
  'domain',
  'allowedIps',
  'rateLimit',
  'expiresAt',
  'metadata',
  'credits',
])

// eslint-disable-next-line no-control-regex -- refusing control characters is the point
const CONTROL = /[\x00-\x1f\x7f]/
const MAX_LIST = 100
const MAX_WINDOW_MS = 366 * 24 * 3_600_000

/**
 * Context the checks need: the server's clock, prefixes and environment.
 *
 * @example
 * ```ts
 * validateKeyInput(input, 'create', { now: Date.now(), prefixes: ['bsk'], environment: 'live' })
 * ```
 */
export interface KeyInputContext {
  now: number
  prefixes: readonly string[]
  environment: Environment
}

type Fields = Partial<
  Pick<
    KeyRecord,
    | 'name'
    | 'description'
    | 'orgId'
    | 'projects'
    | 'scopes'
    | 'allowedOrigins'
    | 'allowedIps'
    | 'rateLimit'
    | 'expiresAt'
    | 'environment'
    | 'prefix'
    | 'metadata'
  >
> & {
  /** A balance to set (create, update), or null for none. The manager adds the epoch. */
  credits?: CreditsInfo | null
  /** An update's top-up. */
  creditsAdd?: number
}

function textLength(value: string): number {
  let n = 0
  for (const _ of value) n++
  return n
}

/**
 * True for `{}`-style objects (not arrays, class instances or null): what an input may be.
 *
 * @example
 * ```ts
 * plainObject(JSON.parse(body)) // false for '[1]' or 'null'
 * ```
 */
export function plainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/**
 * Collects every bad field of an input, with the message a caller can act on, instead of
 * stopping at the first. Shared by key and token inputs.
 *
 * @example
 * ```ts
 * const c = new Checker()
 * const name = c.text('name', input.name, 1, 100)
 * if (c.issues.length > 0) throw new KeywardError('validation_failed', { errors: c.issues })
 * ```
 */
export class Checker {
  readonly issues: FieldIssue[] = []
  add(field: string, message: string): void {
    this.issues.push({ field, message })
  }

  text(field: string, value: unknown, min: number, max: number): string | undefined {
    if (typeof value !== 'string') return (this.add(field, 'must be a string'), undefined)
    const trimmed = value.trim()
    const length = textLength(trimmed)
    if (length < min) this.add(field, min === 1 ? 'must not be empty' : `must be at least ${min} characters`)
    else if (length > max) this.add(field, `must be at most ${max} characters`)
    else if (CONTROL.test(trimmed)) this.add(field, 'must not contain control characters')
    else return trimmed
    return undefined
  }

  list(field: string, value: unknown, min: number): unknown[] | undefined {
    if (!Array.isArray(value)) return (this.add(field, 'must be an array'), undefined)
    if (value.length < min) return (this.add(field, `must have at least ${min} entr${min === 1 ? 'y' : 'ies'}`), undefined)
    if (value.length > MAX_LIST) return (this.add(field, `must have at most ${MAX_LIST} entries`), undefined)
    return value
  }

  ids(field: string, value: unknown, min: number): string[] | undefined {
    const items = this.list(field, value, min)
    if (items === undefined) return undefined
    const out: string[] = []
    items.forEach((item, i) => {
      const id = this.text(`${field}[${i}]`, item, 1, 128)
      if (id !== undefined && !out.includes(id)) out.push(id)
    })
    return out
  }

  scopes(value: unknown): string[] | undefined {
    const items = this.list('scopes', value, 1)
    if (items === undefined) return undefined
    const out: string[] = []
    items.forEach((item, i) => {
      if (!isValidScope(item)) this.add(`scopes[${i}]`, 'must be 1-64 printable ASCII characters without spaces, quotes or backslashes')
      else if (!out.includes(item)) out.push(item)
    })
    return out
  }

  origins(allowed: unknown, domain: unknown): string[] | undefined {
    const out: string[] = []
    const take = (field: string, entry: unknown) => {
      const host = normalizeOriginRule(entry)
      if (host === null)
        this.add(
          field,
          'must be a hostname or an http(s) origin such as example.com or https://app.example.com (no path, wildcard or trailing dot)',
        )
      else if (!out.includes(host)) out.push(host)
    }
    if (allowed !== undefined) this.list('allowedOrigins', allowed, 0)?.forEach((entry, i) => take(`allowedOrigins[${i}]`, entry))
    if (domain !== undefined) take('domain', domain)
    return out
  }

  ips(value: unknown): string[] | undefined {
    const items = this.list('allowedIps', value, 0)
    if (items === undefined) return undefined
    const out: string[] = []
    items.forEach((item, i) => {
      const network = parseCidr(item)
      if (network === null)
        this.add(
          `allowedIps[${i}]`,
          'must be an IPv4 or IPv6 address or CIDR network with its host bits zero, e.g. 203.0.113.10 or 10.0.0.0/8',
        )
      else {
        const text = formatNetwork(network)
        if (!out.includes(text)) out.push(text)
      }
    })
    return out
  }

  rateLimit(value: unknown): RateLimitRule[] | undefined {
    if (value === null) return []
    const rules = Array.isArray(value) ? value : [value]
    if (rules.length > 5) return (this.add('rateLimit', 'must have at most 5 rules'), undefined)
    const out: RateLimitRule[] = []
    rules.forEach((rule, i) => {
      const field = Array.isArray(value) ? `rateLimit[${i}]` : 'rateLimit'
      if (!plainObject(rule)) return this.add(field, 'must be an object { limit, windowMs }')
      const extra = Object.keys(rule).filter((k) => k !== 'limit' && k !== 'windowMs' && k !== 'name' && k !== 'algorithm')
      if (extra.length > 0) this.add(field, `unknown field ${extra.map((k) => JSON.stringify(k)).join(', ')}`)
      const { limit, windowMs, name } = rule
      if (!Number.isSafeInteger(limit) || (limit as number) < 1 || (limit as number) > 1e9)
        this.add(`${field}.limit`, 'must be a positive integer')
      // Whole seconds: the RateLimit-Policy header states the window in seconds (`w=`).
      if (
        !Number.isSafeInteger(windowMs) ||
        (windowMs as number) < 1000 ||
        (windowMs as number) > MAX_WINDOW_MS ||
        (windowMs as number) % 1000 !== 0
      ) {
        this.add(`${field}.windowMs`, 'must be a whole number of seconds in ms, from 1000 (one second) to one year')
      }
      if (name !== undefined && !isValidPolicyName(name)) this.add(`${field}.name`, 'must be 1-32 letters, digits, - or _')
      const { algorithm } = rule
      const algorithmIssue = ruleAlgorithmIssue(algorithm, limit)
      if (algorithmIssue !== undefined) this.add(`${field}.${algorithmIssue.field}`, algorithmIssue.message)
      const checked: RateLimitRule = { limit: limit as number, windowMs: windowMs as number }
      if (name !== undefined) checked.name = name as string
      if (algorithm !== undefined) checked.algorithm = algorithm as RateLimitAlgorithm
      out.push(checked)
    })
    return out
  }

  expiresAt(value: unknown, now: number): number | null | undefined {
    if (value === null) return null
    let time: number
    if (value instanceof Date) time = value.getTime()
    else if (typeof value === 'number') time = value
    else if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}/.test(value)) time = Date.parse(value)
    else return (this.add('expiresAt', 'must be a Date, an ISO 8601 string or epoch milliseconds'), undefined)
    // 8.64e15 ms is the last instant a Date can hold: beyond it `new Date()` is Invalid Date,
    // which serializes as null and would read as "never expires".
    if (!Number.isFinite(time) || Math.abs(time) > 8.64e15) return (this.add('expiresAt', 'is not a valid date'), undefined)
    if (time <= now) return (this.add('expiresAt', 'must be in the future'), undefined)
    return time
  }

  /** A key's credits: a balance to set, a top-up (`{ add }`, update only), or null for none. */
  credits(value: unknown, mode: 'create' | 'update'): { set: CreditsInfo | null } | { add: number } | undefined {
    if (value === null) return { set: null }
    if (!plainObject(value))
      return (
        this.add(
          'credits',
          mode === 'update' ? 'must be { remaining, refill? }, { add } or null' : 'must be { remaining, refill? } or null',
        ),
        undefined
      )
    const count = (field: string, n: unknown, min: number) => {
      if (Number.isSafeInteger(n) && (n as number) >= min && (n as number) <= MAX_CREDITS) return true
      this.add(field, `must be an integer from ${min} to ${MAX_CREDITS}`)
      return false
    }
    if (Object.hasOwn(value, 'add')) {
      if (mode === 'create') return (this.add('credits.add', 'is only for an update: create a key with { remaining }'), undefined)
      const extra = Object.keys(value).filter((k) => k !== 'add')
      if (extra.length > 0)
        return (this.add('credits', `a top-up takes only add, not ${extra.map((k) => JSON.stringify(k)).join(', ')}`), undefined)
      return count('credits.add', value.add, 1) ? { add: value.add as number } : undefined
    }
    const extra = Object.keys(value).filter((k) => k !== 'remaining' && k !== 'refill')
    if (extra.length > 0) this.add('credits', `unknown field ${extra.map((k) => JSON.stringify(k)).join(', ')}`)
    const ok = count('credits.remaining', value.remaining, 0)
    const refill = value.refill
    if (refill === undefined || refill === null)
      return ok && extra.length === 0 ? { set: { remaining: value.remaining as number, refill: null } } : undefined
    if (!plainObject(refill)) return (this.add('credits.refill', 'must be { amount, intervalMs } or null'), undefined)
    const refillExtra = Object.keys(refill).filter((k) => k !== 'amount' && k !== 'intervalMs')
    if (refillExtra.length > 0) this.add('credits.refill', `unknown field ${refillExtra.map((k) => JSON.stringify(k)).join(', ')}`)
    const amountOk = count('credits.refill.amount', refill.amount, 0)
    const { intervalMs } = refill
    const intervalOk =
      Number.isSafeInteger(intervalMs) &&
      (intervalMs as number) >= MIN_REFILL_INTERVAL_MS &&
      (intervalMs as number) <= MAX_REFILL_INTERVAL_MS
    if (!intervalOk) this.add('credits.refill.intervalMs', 'must be an integer number of ms from 1000 (one second) to one year')
    if (!ok || !amountOk || !intervalOk || extra.length > 0 || refillExtra.length > 0) return undefined
    return { set: { remaining: value.remaining as number, refill: { amount: refill.amount as number, intervalMs: intervalMs as number } } }
  }

  metadata(value: unknown): Record<string, unknown> | undefined {
    if (!plainObject(value)) return (this.add('metadata', 'must be a plain object'), undefined)
    let json: string
    try {
      json = JSON.stringify(value)
    } catch {
      return (this.add('metadata', 'must be JSON-serializable'), undefined)
    }
    if (json.length > 4096) return (this.add('metadata', 'must be at most 4096 bytes as JSON'), undefined)
    return JSON.parse(json) as Record<string, unknown>
  }
}

/**
 * Checks a create or update input completely and returns the normalized fields, or throws one
 * `validation_failed` {@link KeywardError} whose `errors` name every bad field. Unknown fields are
 * refused too: a misspelt `allowed_origins` must not quietly create an unrestricted key.
 *
 * @example
 * ```ts
 * const fields = validateKeyInput({ name: 'CI' }, 'update', ctx) // { name: 'CI' }
 * ```
 */
export function validateKeyInput(input: unknown, mode: 'create' | 'update', ctx: KeyInputContext): Fields {
  const c = new Checker()
  if (!plainObject(input)) {
    throw new KeywardError('validation_failed', {
      message: 'Invalid key input',
      errors: [{ field: '(input)', message: 'must be an object' }],
    })
  }
  const allowed = mode === 'create' ? CREATE_FIELDS : UPDATE_FIELDS
  for (const field of Object.keys(input)) {
    if (!allowed.has(field))
      c.add(field, mode === 'update' && CREATE_FIELDS.has(field) ? 'cannot be changed after creation' : 'unknown field')
  }
  const has = (field: string) => Object.hasOwn(input, field) && input[field] !== undefined
  const out: Fields = {}
  if (mode === 'create' || has('name')) out.name = c.text('name', input.name, 1, 100)
  if (has('description')) out.description = input.description === null ? null : c.text('description', input.description, 0, 500)
  if (mode === 'create') out.orgId = c.text('orgId', input.orgId, 1, 128)
  if (mode === 'create' || has('projects')) out.projects = c.ids('projects', input.projects, 1)
  if (mode === 'create' || has('scopes')) out.scopes = has('scopes') ? c.scopes(input.scopes) : ['read']
  if (has('allowedOrigins') || has('domain')) out.allowedOrigins = c.origins(input.allowedOrigins, input.domain)
  if (has('allowedIps')) out.allowedIps = c.ips(input.allowedIps)
  if (has('rateLimit') || input.rateLimit === null) out.rateLimit = c.rateLimit(input.rateLimit)
  if (has('expiresAt') || input.expiresAt === null) out.expiresAt = c.expiresAt(input.expiresAt, ctx.now)
  if (has('metadata')) out.metadata = c.metadata(input.metadata)
  if (has('credits') || input.credits === null) {
    const credits = c.credits(input.credits, mode)
    if (credits !== undefined) {
      if ('add' in credits) out.creditsAdd = credits.add
      else out.credits = credits.set
    }
  }
  // A top-up is the limiter's one atomic step; written beside a record change it could land
  // without it or be refused after it (a concurrent top-up reaching 2^53). Alone, each update is
  // all or nothing.
  if (out.creditsAdd !== undefined && Object.keys(out).length > 1)
    c.add(
      'credits.add',
      'a top-up is sent on its own: send the other changes in an update of their own ' +
        '(a management write policy that adds fields must leave a top-up alone)',
    )
  if (mode === 'create') {
    const environment = has('environment') ? input.environment : ctx.environment
    if (environment !== 'live' && environment !== 'test') c.add('environment', "must be 'live' or 'test'")
    else out.environment = environment
    const prefix = has('prefix') ? input.prefix : ctx.prefixes[0]
    if (typeof prefix !== 'string' || !ctx.prefixes.includes(prefix)) c.add('prefix', `must be one of ${ctx.prefixes.join(', ')}`)
    else out.prefix = prefix
  }
  if (c.issues.length > 0) {
    throw new KeywardError('validation_failed', {
      message: `Invalid key input: ${c.issues.map((i) => i.field).join(', ')}`,
      errors: c.issues,
    })
  }
  return out
}
