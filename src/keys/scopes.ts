/**
 * Which scopes each scope implies. The default: `admin` implies `write`, which implies `read`.
 *
 * @example
 * ```ts
 * const hierarchy: ScopeHierarchy = { owner: ['admin'], admin: ['write'], write: ['read'] }
 * ```
 */
export type ScopeHierarchy = Readonly<Record<string, readonly string[]>>

/**
 * The default hierarchy (docs/keys-and-verify.md, "Scopes"): read < write < admin.
 *
 * @example
 * ```ts
 * createScopeExpander(DEFAULT_SCOPE_HIERARCHY)(['write']) // ['write', 'read']
 * ```
 */
export const DEFAULT_SCOPE_HIERARCHY: ScopeHierarchy = Object.freeze({ admin: Object.freeze(['write']), write: Object.freeze(['read']) })

// RFC 6749 §3.3 scope-token characters: printable ASCII but space, `"` and `\`, so a scope can
// stand inside the quoted WWW-Authenticate challenge without escaping.
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]{1,64}$/

/**
 * True when `scope` is a valid scope token (RFC 6749 characters, at most 64).
 *
 * @example
 * ```ts
 * isValidScope('billing:view') // true
 * isValidScope('read write') // false
 * ```
 */
export function isValidScope(scope: unknown): scope is string {
  return typeof scope === 'string' && SCOPE_TOKEN.test(scope)
}

/**
 * Builds a function that expands granted scopes through a hierarchy (transitively, cycles safe).
 *
 * @example
 * ```ts
 * const expand = createScopeExpander(DEFAULT_SCOPE_HIERARCHY)
 * expand(['admin']) // ['admin', 'write', 'read']
 * ```
 */
export function createScopeExpander(hierarchy: ScopeHierarchy = DEFAULT_SCOPE_HIERARCHY): (granted: readonly string[]) => string[] {
  for (const [scope, implied] of Object.entries(hierarchy)) {
    if (!isValidScope(scope) || !Array.isArray(implied) || !implied.every(isValidScope)) {
      throw new TypeError(`keyward: scopes hierarchy entry ${JSON.stringify(scope)} is not a valid scope list`)
    }
  }
  // A private frozen copy: editing the caller's object later must not change who may do what.
  const rules: ScopeHierarchy = Object.freeze(Object.fromEntries(Object.entries(hierarchy).map(([k, v]) => [k, Object.freeze([...v])])))
  return (granted) => {
    const out: string[] = []
    const stack = [...granted]
    while (stack.length > 0) {
      const scope = stack.shift()!
      if (out.includes(scope)) continue
      out.push(scope)
      if (Object.hasOwn(rules, scope)) stack.push(...rules[scope]!)
    }
    return out
  }
}

/**
 * The scopes of `required` that `effective` (already expanded) lacks; empty when all are there.
 * Scope strings are exact and case-sensitive.
 *
 * @example
 * ```ts
 * missingScopes(auth.scopes, ['write']) // [] when the key has write or admin
 * ```
 */
export function missingScopes(effective: readonly string[], required: readonly string[]): readonly string[] {
  let missing: string[] | undefined
  for (const scope of required) {
    if (!effective.includes(scope)) (missing ??= []).push(scope)
  }
  return missing ?? NONE
}

const NONE: readonly string[] = Object.freeze([])
