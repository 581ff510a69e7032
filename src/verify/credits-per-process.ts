import type { Runtime } from '../runtime.js'

/**
 * The warning for credits kept by a per-process limiter over a shared store: every instance,
 * and every restart, spends the whole balance again.
 */
export const CREDITS_PER_PROCESS =
  'keyward: a key with credits on MemoryRateLimiter with a shared store: each instance and each restart spends the whole ' +
  'balance again, so credits are not enforced across processes; use RedisRateLimiter or DurableObjectRateLimiter'

const warned = new WeakSet<Runtime>()

/**
 * Warns once per keyward instance (through `onBackgroundError`, else the console) when a key with
 * credits meets a per-process limiter and a store other processes share. Costs one boolean test
 * otherwise; called only for keys with credits.
 *
 * @example
 * ```ts
 * if (credits !== null) warnCreditsPerProcess(rt)
 * ```
 */
export function warnCreditsPerProcess(rt: Runtime): void {
  if (!rt.creditsPerProcess || warned.has(rt)) return
  warned.add(rt)
  rt.warn(CREDITS_PER_PROCESS)
}
