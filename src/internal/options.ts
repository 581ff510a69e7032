/**
 * The one option checker of keyward, in the manner of lru-cache: every constructor and factory
 * checks its options at once, so a typo or a wrong value is a TypeError at start-up naming the
 * option (`cache.ttlMs`), never a default silently kept. Internal: the core, the stores, the
 * limiters and the adapters all use it; it is not part of the public surface.
 */

/**
 * Checks one option value; throws through {@link optionError} when it is wrong. Runs only for a
 * value that is present (not `undefined`); `path` is the option's full name, e.g. `jwt.cache.max`.
 *
 * @example
 * ```ts
 * const even: OptionRule = (value, path) => {
 *   if (value !== 2) optionError(`${path} must be 2`)
 * }
 * ```
 */
export type OptionRule = ((value: unknown, path: string) => void) & { readonly required?: true }

/** The rules of an options object, one per accepted name. */
export type OptionRules = Readonly<Record<string, OptionRule>>

/**
 * Throws the TypeError every bad option gets: `keyward: <message>`.
 *
 * @example
 * ```ts
 * if (typeof value !== 'string') optionError('prefix must be a string')
 * ```
 */
export function optionError(message: string): never {
  throw new TypeError(`keyward: ${message}`)
}

/** `cache` + `ttlMs` is `cache.ttlMs`; at the top level the name alone. */
function join(path: string, name: string): string {
  return path === '' ? name : `${path}.${name}`
}

/** What a wrong value was, without ever echoing a string (it may be a secret). */
function received(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return `, got ${String(value)}`
  if (value === null) return ', got null'
  if (Array.isArray(value)) return ', got an array'
  return `, got a ${typeof value}`
}

/** Edits from one name to the other, a swap of two neighbours counting as one (`qouta`, `kdi`). */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  )
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1)
      d[i]![j] = best
    }
  }
  return d[a.length]![b.length]!
}

/**
 * The accepted name closest to a mistyped one (`lockOut` -> `lockout`, `scope` -> `scopes`), or
 * undefined when none is near: case is ignored and at most two edits are allowed, fewer for a
 * short name, so that an unrelated option is never suggested.
 *
 * @example
 * ```ts
 * closestName('ttlMS', ['ttlMs', 'max']) // 'ttlMs'
 * ```
 */
export function closestName(name: string, candidates: readonly string[]): string | undefined {
  const lower = name.toLowerCase()
  let best: string | undefined
  let bestDistance = Math.min(2, Math.floor(name.length / 3))
  for (const candidate of candidates) {
    const d = distance(lower, candidate.toLowerCase())
    if (d <= bestDistance && (best === undefined || d < bestDistance)) {
      best = candidate
      bestDistance = d
    }
  }
  return best
}

/**
 * Where an options object sits and what its unknown keys are called. `label` reads in the
 * message (`unknown management option "scopes"`); `known` are names another layer checks (an
 * adapter's own options, let through to the shared checker).
 *
 * @example
 * ```ts
 * const at: OptionsAt = { path: 'jwt', label: 'option', known: [] }
 * ```
 */
export interface OptionsAt {
  /** The object's own option path; '' at the top. Default ''. */
  path?: string
  /** Default `'option'`. */
  label?: string
  /** Names accepted without a rule here (checked elsewhere). */
  known?: readonly string[]
  /** The message when the value is not an object. Default `<path> must be an object`. */
  notObject?: string
}

/**
 * Checks an options object: a plain object, no name it does not know (with a "did you mean"
 * for a near miss), every rule satisfied, every required option present. Returns it, typed.
 *
 * @example
 * ```ts
 * checkOptions(options, { maxKeys: integer({ min: 1 }) }, { path: '', notObject: 'MemoryRateLimiter options must be an object' })
 * ```
 */
export function checkOptions<T extends object>(value: T, rules: OptionRules, at: OptionsAt = {}): T {
  const path = at.path ?? ''
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    optionError(at.notObject ?? `${path === '' ? 'options' : path} must be an object${received(value)}`)
  const names = Object.keys(rules)
  const known = at.known ?? []
  for (const name of Object.keys(value)) {
    if (Object.hasOwn(rules, name) || known.includes(name)) continue
    const all = [...names, ...known]
    const near = closestName(name, all)
    const hint = near === undefined ? '' : ` (did you mean "${join(path, near)}"?)`
    optionError(`unknown ${at.label ?? 'option'} "${join(path, name)}"${hint}; expected one of ${all.join(', ')}`)
  }
  const record = value as Record<string, unknown>
  for (const name of names) {
    const rule = rules[name]!
    const option = record[name]
    if (option !== undefined) rule(option, join(path, name))
    else if (rule.required === true) optionError(`${join(path, name)} is required`)
  }
  return value
}

/**
 * The same rule, and the option must be given.
 *
 * @example
 * ```ts
 * const rules = { limit: required(integer({ min: 1 })) }
 * ```
 */
export function required(rule: (value: unknown, path: string) => void): OptionRule {
  return Object.assign((value: unknown, path: string) => rule(value, path), { required: true as const })
}

/**
 * A safe integer within `min`..`max`. `message` replaces the default wording after the path.
 *
 * @example
 * ```ts
 * const ttl = integer({ min: 0, message: 'must be a non-negative integer' })
 * ```
 */
export function integer({ min, max, message }: { min: number; max?: number; message?: string }): OptionRule {
  const wording = message ?? (max === undefined ? `must be an integer of at least ${min}` : `must be an integer from ${min} to ${max}`)
  return (value, path) => {
    if (!Number.isSafeInteger(value) || (value as number) < min || (max !== undefined && (value as number) > max))
      optionError(`${path} ${wording}${received(value)}`)
  }
}

/**
 * A finite number greater than `above`.
 *
 * @example
 * ```ts
 * const timeout = numberAbove(0, 'must be a positive number of ms')
 * ```
 */
export function numberAbove(above: number, message: string): OptionRule {
  return (value, path) => {
    if (typeof value !== 'number' || !Number.isFinite(value) || !(value > above)) optionError(`${path} ${message}${received(value)}`)
  }
}

/**
 * `true` or `false`.
 *
 * @example
 * ```ts
 * const rules = { listen: boolean }
 * ```
 */
export const boolean: OptionRule = (value, path) => {
  if (typeof value !== 'boolean') optionError(`${path} must be a boolean${received(value)}`)
}

/**
 * A function; `shape` tells what it is called with, for the message.
 *
 * @example
 * ```ts
 * const rules = { onError: func('(error) => void') }
 * ```
 */
export function func(shape?: string): OptionRule {
  return (value, path) => {
    if (typeof value !== 'function') optionError(`${path} must be a function${shape === undefined ? '' : ` ${shape}`}${received(value)}`)
  }
}

/**
 * One of a few literal values.
 *
 * @example
 * ```ts
 * const rules = { environment: oneOf(['live', 'test']) }
 * ```
 */
export function oneOf(values: readonly (string | number | boolean)[]): OptionRule {
  const listed = values.map((v) => (typeof v === 'string' ? `'${v}'` : String(v)))
  const wording = listed.length === 1 ? listed[0]! : `${listed.slice(0, -1).join(', ')} or ${listed[listed.length - 1]}`
  return (value, path) => {
    if (!values.includes(value as string)) optionError(`${path} must be ${wording}${typeof value === 'string' ? '' : received(value)}`)
  }
}

/**
 * `false` (the feature off), or whatever `rule` accepts.
 *
 * @example
 * ```ts
 * const rules = { heartbeatMs: orFalse(integer({ min: 1 })) }
 * ```
 */
export function orFalse(rule: OptionRule): OptionRule {
  return (value, path) => {
    if (value !== false) rule(value, path)
  }
}

/**
 * A nested options object, checked with the same rules as the top: unknown keys, types, ranges.
 *
 * @example
 * ```ts
 * const rules = { cache: orFalse(nested({ ttlMs: integer({ min: 0 }) })) }
 * ```
 */
export function nested(rules: OptionRules, notObject?: (path: string) => string): OptionRule {
  return (value, path) => {
    checkOptions(value as object, rules, { path, ...(notObject === undefined ? {} : { notObject: notObject(path) }) })
  }
}

/**
 * An object with the named methods (a store, a limiter, a client): checked by shape, so that any
 * implementation of the interface is accepted.
 *
 * @example
 * ```ts
 * const rules = { limiter: withMethods(['limit', 'recordFailure'], 'a RateLimiter') }
 * ```
 */
export function withMethods(methods: readonly string[], what: string): OptionRule {
  return (value, path) => {
    const ok =
      value !== null && typeof value === 'object' && methods.every((m) => typeof (value as Record<string, unknown>)[m] === 'function')
    if (!ok) optionError(`${path} must be ${what} (with ${methods.join(', ')})${received(value)}`)
  }
}

/**
 * Anything: the option is known here and checked where it is used (a pepper by the hasher, a
 * scope hierarchy by the expander), so it is not checked twice with two different messages.
 *
 * @example
 * ```ts
 * const rules = { pepper: checkedElsewhere }
 * ```
 */
export const checkedElsewhere: OptionRule = () => {}
