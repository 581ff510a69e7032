/**
 * Where an instance carries whether its grant ceiling covers addresses and origins, for the
 * management routes' `GET /capabilities` (built from the instance, not its runtime). Registered
 * with `Symbol.for`, as the verify twin, so that each bundle sees the same symbol. Not a public API.
 */
const GRANT_SETTINGS = Symbol.for('keyward.grantSettings')

/**
 * createKeyward's `grantRestrictions`: true for `'within'`.
 *
 * @example
 * ```ts
 * const settings: GrantSettings = { restrictions: true }
 * ```
 */
export interface GrantSettings {
  restrictions: boolean
}

/** The defaults, for an instance that carries none (a wrapper built by hand): the stricter reading. */
const DEFAULTS: GrantSettings = Object.freeze({ restrictions: true })

/**
 * Gives the instance its settings, non-enumerable.
 *
 * @example
 * ```ts
 * return withGrantSettings(instance, { restrictions: true })
 * ```
 */
export function withGrantSettings<T extends object>(instance: T, settings: GrantSettings): T {
  Object.defineProperty(instance, GRANT_SETTINGS, { value: Object.freeze({ ...settings }) })
  return instance
}

/**
 * The settings of `instance`, or the defaults when it carries none.
 *
 * @example
 * ```ts
 * const { restrictions } = grantSettingsOf(kw)
 * ```
 */
export function grantSettingsOf(instance: unknown): GrantSettings {
  const settings =
    instance !== null && typeof instance === 'object' ? (instance as { [GRANT_SETTINGS]?: GrantSettings })[GRANT_SETTINGS] : undefined
  return settings ?? DEFAULTS
}
