import { formatPolicy, formatRateLimit, isValidPolicyName } from '../http/rate-limit-headers.js'
import { optionError } from '../internal/options.js'
import type { AuthContext, RateLimitRule } from '../types.js'
import type { RuleState, SharedQuota } from './rate-limiter.js'

/**
 * One quota shared by a group of keys, for `createKeyward({ sharedQuotas })`: every key (or JWT
 * subject) the group takes in spends the same budget, checked and counted in the same limiter
 * call as its own rules.
 *
 * @example
 * ```ts
 * const perOrg: SharedQuotaOption = { name: 'org', by: 'org', rules: { limit: 100_000, windowMs: 86_400_000 } }
 * const perTeam: SharedQuotaOption = { name: 'team', by: (auth) => auth.key?.metadata.team as string | undefined, rules: [...] }
 * ```
 */
export interface SharedQuotaOption {
  /** Names the quota in the RateLimit headers and its counters: 1-32 letters, digits, - or _. Unique. */
  name: string
  /**
   * Whose budget a request spends: `'org'`, the principal's org; or a function of the principal's
   * auth returning the group's id, or undefined when the request belongs to no group of this quota.
   */
  by: 'org' | ((auth: AuthContext) => string | undefined)
  /** One rule or up to five, as a key's `rateLimit` (any algorithm). */
  rules: RateLimitRule | readonly RateLimitRule[]
}

/** A {@link SharedQuotaOption} checked once: rules named for the headers, the policy header prepared. */
export interface ResolvedSharedQuota {
  name: string
  by: 'org' | ((auth: AuthContext) => string | undefined)
  rules: readonly RateLimitRule[]
  policy: string
}

/**
 * Checks `sharedQuotas` (TypeError naming the option) and prepares each quota. `checkRule`
 * checks one rule as `defaultRateLimit`'s are checked.
 *
 * @example
 * ```ts
 * const shared = resolveSharedQuotas(options.sharedQuotas, checkRule)
 * ```
 */
export function resolveSharedQuotas(value: unknown, checkRule: (rule: RateLimitRule, where: string) => void): ResolvedSharedQuota[] {
  if (!Array.isArray(value)) optionError('sharedQuotas must be a list of { name, by, rules }')
  const names = new Set<string>()
  return (value as unknown[]).map((quota, i) => {
    const where = `sharedQuotas[${i}]`
    if (quota === null || typeof quota !== 'object') optionError(`${where} must be { name, by, rules }`)
    const { name, by, rules, ...extra } = quota as Record<string, unknown>
    const unknown = Object.keys(extra)
    if (unknown.length > 0) optionError(`${where} has an unknown option ${JSON.stringify(unknown[0])}`)
    if (!isValidPolicyName(name)) optionError(`${where}.name must be 1-32 letters, digits, - or _`)
    if (names.has(name)) optionError(`${where}.name ${JSON.stringify(name)} is used twice`)
    names.add(name)
    if (by !== 'org' && typeof by !== 'function') optionError(`${where}.by must be 'org' or (auth) => group id | undefined`)
    const list = Array.isArray(rules) ? (rules as RateLimitRule[]) : [rules as RateLimitRule]
    if (list.length === 0 || list.length > 5) optionError(`${where}.rules must be one rule or up to five`)
    const named = list.map((rule, j) => {
      const ruleWhere = Array.isArray(rules) ? `${where}.rules[${j}]` : `${where}.rules`
      checkRule(rule, ruleWhere)
      // Named after the quota in the headers, so a client tells its own budget from the group's.
      return Object.freeze({ ...rule, name: rule.name ?? (list.length === 1 ? name : `${name}-${j}`) })
    })
    return Object.freeze({ name, by: by as ResolvedSharedQuota['by'], rules: Object.freeze(named), policy: formatPolicy(named) })
  })
}

/**
 * The shared quotas a principal spends, as the limiter takes them; undefined when none applies.
 *
 * @example
 * ```ts
 * const shared = sharedQuotasFor(rt.sharedQuotas, principal.auth)
 * ```
 */
export function sharedQuotasFor(quotas: readonly ResolvedSharedQuota[], auth: AuthContext): ResolvedSharedRequest | undefined {
  let out: ResolvedSharedRequest | undefined
  for (const quota of quotas) {
    const group = quota.by === 'org' ? auth.org : quota.by(auth)
    // No group (or an empty id): this quota does not apply; a non-string id is the app's bug, and
    // would otherwise merge unrelated principals into one budget.
    if (group === undefined || group === '') continue
    if (typeof group !== 'string') throw new TypeError(`keyward: sharedQuotas ${quota.name}: by() must return a string or undefined`)
    out ??= { shared: [], policies: [] }
    out.shared.push({ key: `shared:${quota.name}:${group}`, rules: quota.rules })
    out.policies.push(quota.policy)
  }
  return out
}

/** What {@link sharedQuotasFor} found: the limiter's `shared`, and the policy header of each. */
export interface ResolvedSharedRequest {
  shared: SharedQuota[]
  policies: string[]
}

/**
 * The RateLimit-Policy and RateLimit values for a key's rules followed by shared quotas' rules:
 * the key's keep their names (`default` when alone), the shared ones are named after their quota.
 *
 * @example
 * ```ts
 * const headers = sharedRateLimitHeaders(quota.policy, quota.rules.length, shared.policies, decision.rules)
 * ```
 */
export function sharedRateLimitHeaders(
  ownPolicy: string | null,
  ownCount: number,
  sharedPolicies: readonly string[],
  states: readonly RuleState[],
): { 'ratelimit-policy': string; ratelimit: string } {
  const policy = ownPolicy === null ? sharedPolicies.join(', ') : [ownPolicy, ...sharedPolicies].join(', ')
  const own = formatRateLimit(states.slice(0, ownCount))
  const shared = formatRateLimit(states.slice(ownCount))
  return { 'ratelimit-policy': policy, ratelimit: own === '' ? shared : `${own}, ${shared}` }
}
