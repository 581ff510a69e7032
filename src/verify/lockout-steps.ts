/**
 * The lockout steps of the pipeline: admission before a credential is looked at, the hold around
 * the strategy's await, and the counted refusal. Written once so that every credential type is
 * refused and counted the same way (see lockout-gate.ts for the bound they keep). Internal.
 */
import { KeywardError, type KeywardErrorCode } from '../errors.js'
import type { ClientAddress } from '../http/restrictions.js'
import type { Runtime } from '../runtime.js'
import { blockedFailure, BUSY, STATIC_FAILURES, type Failure } from './failures.js'
import type { LockoutGate } from './lockout-gate.js'

/**
 * The refusal for an address this process knows to be blocked, or null. Costs no I/O.
 *
 * @example
 * ```ts
 * const blocked = knownBlock(rt, client, rt.now())
 * if (blocked !== null) return blocked
 * ```
 */
export function knownBlock(rt: Runtime, client: ClientAddress | null, now: number): Failure | null {
  // Most of the time no address is blocked at all: no lookup then.
  if (rt.lockout === false || client === null || rt.blocked.size === 0) return null
  const until = rt.blocked.get(client.bucket)
  return until !== undefined && until > now ? blockedFailure(until - now) : null
}

/**
 * What {@link admit} answers: a refusal, or the go-ahead, saying whether an attempt is already
 * held for the caller (after a wait) or not (the caller holds one before its first await).
 *
 * @example
 * ```ts
 * const admitted: Admission = await admit(rt, client, now)
 * ```
 */
export type Admission = Failure | boolean

/**
 * Lets an attempt from `client` be evaluated, or refuses it, before anything about its credential
 * is looked at (so the answer cannot depend on it): a known block is a 429; an address whose
 * failure budget is all in flight waits until an attempt settles, then looks again. Synchronous
 * and I/O-free unless it must wait.
 *
 * @example
 * ```ts
 * const a = admit(rt, client, now)
 * const admitted = typeof a === 'object' && 'then' in a ? await a : a
 * ```
 */
export function admit(rt: Runtime, client: ClientAddress | null, now: number): Admission | Promise<Admission> {
  if (rt.gate === undefined || client === null) return false
  const blocked = knownBlock(rt, client, now)
  if (blocked !== null) return blocked
  return rt.gate.hasRoom(client.bucket, now) ? false : waitForRoom(rt, rt.gate, client)
}

// On workerd a request that only awaits a promise another request resolves has nothing pending of
// its own, and the runtime cancels it as hung (seen with 30 concurrent first requests from one
// address in one isolate). There, a waiting request keeps one timer of its own ticking, doing
// nothing, until it is woken; the same promise is awaited throughout (no second place in the
// queue). Elsewhere a waiter costs nothing while it waits.
const TICK_MS = 20
const ON_WORKERD = (globalThis as { navigator?: { userAgent?: unknown } }).navigator?.userAgent === 'Cloudflare-Workers'
const idle = () => {}

async function awaitWithTicks(waiting: Promise<void>): Promise<void> {
  if (!ON_WORKERD) return waiting
  const ticking = setInterval(idle, TICK_MS)
  try {
    await waiting
  } finally {
    clearInterval(ticking)
  }
}

async function waitForRoom(rt: Runtime, gate: LockoutGate, client: ClientAddress): Promise<Admission> {
  for (;;) {
    const waiting = gate.wait(client.bucket)
    // Thousands of attempts queued from one address: turned away without waiting, whatever they
    // carry. Not ip_blocked: the address may have no failure at all (a busy NAT, a cold cache).
    if (waiting === null) return BUSY
    await awaitWithTicks(waiting)
    const now = rt.now()
    const blocked = knownBlock(rt, client, now)
    if (blocked !== null) return blocked
    if (gate.hasRoom(client.bucket, now)) {
      // Held here, in the same synchronous run as the check: the caller resumes later.
      gate.hold(client.bucket)
      return true
    }
  }
}

/**
 * Holds an attempt for `client` before the caller awaits anything; a no-op when one is held
 * already or lockout does not apply. Returns whether one is held now.
 *
 * @example
 * ```ts
 * held = hold(rt, client, held) // then `await store.findById(id)`
 * ```
 */
export function hold(rt: Runtime, client: ClientAddress | null, held: boolean): boolean {
  if (held || rt.gate === undefined || client === null) return held
  rt.gate.hold(client.bucket)
  return true
}

/**
 * Settles a held attempt that did not fail (or failed without counting).
 *
 * @example
 * ```ts
 * settle(rt, client, held) // the key is valid: its slot goes to the next attempt
 * ```
 */
export function settle(rt: Runtime, client: ClientAddress | null, held: boolean): void {
  if (held && client !== null) rt.gate?.release(client.bucket)
}

/**
 * Refuses with `code`, first counting the attempt against the client's address when it counts.
 * A counted attempt stays held until the limiter has counted it; `held` says whether the caller
 * holds one already (else one is held now, before the first await). A failure the limiter counts
 * after the address was already blocked is answered 429, as it would have been had it come later.
 *
 * @example
 * ```ts
 * if (principal === null) return await refuse(rt, 'invalid_token', client, now, undefined, held)
 * ```
 */
export async function refuse(
  rt: Runtime,
  code: KeywardErrorCode,
  client: ClientAddress | null,
  now: number,
  options?: ConstructorParameters<typeof KeywardError>[1],
  held = false,
): Promise<Failure> {
  if (rt.lockout !== false && client !== null && rt.lockoutCounts.has(code)) {
    hold(rt, client, held)
    try {
      const state = await rt.limiter.recordFailure(client.bucket, rt.lockout, now)
      if (state.blocked) rt.blocked.set(client.bucket, now + state.retryAfterMs)
      rt.gate?.learn(client.bucket, state.failures, state.blocked, now)
      if (state.blocked && state.failures !== undefined && state.failures > rt.lockout.maxFailures)
        return blockedFailure(state.retryAfterMs)
    } finally {
      rt.gate?.release(client.bucket)
    }
  } else {
    settle(rt, client, held)
  }
  return (options === undefined && STATIC_FAILURES[code]) || { ok: false, error: new KeywardError(code, options) }
}
