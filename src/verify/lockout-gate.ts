/**
 * Bounds the failed attempts an address can have evaluated, even when they arrive together.
 * Internal.
 *
 * Lockout counts a failure once the limiter has recorded it, which is after the attempt was
 * evaluated (a store lookup, a hash). Without a bound, fifty wrong keys sent at once would all be
 * evaluated before the first was counted. So each address has, on this instance, a number of
 * attempts *held*: started, not yet known to be valid, their failure not yet counted. An attempt
 * may start only while the held ones are fewer than the failures the address still has in its
 * window (as the limiter last counted them); otherwise it waits until one settles. The wait is
 * decided before the attempt's key is looked at, and an attempt that waits is afterwards
 * evaluated exactly as if it had come after those ahead of it, so no answer depends on whether
 * its key is right: what a burst sees is what the same requests sent one by one would see.
 */
import { LRUCache } from 'lru-cache'
import type { LockoutPolicy } from '../limiters/rate-limiter.js'

/** Attempts from one address that may wait at once on one instance; past it they are answered 503 busy. */
export const MAX_WAITING = 4096

interface Slot {
  /** Attempts started and unsettled. */
  held: number
  /** Attempts waiting for one of those to settle. */
  waiters: Array<() => void>
}

interface Budget {
  /** Failures the address may still make in its window, as last counted. */
  remaining: number
  /** Until when that count is trusted; then the full budget is assumed again. */
  until: number
}

/**
 * Per-address reservations against the lockout's failure budget; see the file comment.
 *
 * @example
 * ```ts
 * const gate = new LockoutGate({ maxFailures: 10, windowMs: 300_000 })
 * if (gate.hasRoom(bucket, now)) gate.hold(bucket) // ...evaluate, then gate.release(bucket)
 * ```
 */
export class LockoutGate {
  readonly #policy: LockoutPolicy
  // Only addresses with attempts unsettled or waiting: bounded by the requests in progress.
  readonly #slots = new Map<string, Slot>()
  // A budget evicted is assumed full again: the limiter still counts and blocks; only the local
  // bound on attempts in flight loosens, for an address not seen for a while.
  readonly #budgets = new LRUCache<string, Budget>({ max: 10_000 })

  constructor(policy: LockoutPolicy) {
    this.#policy = policy
  }

  /** Addresses with attempts held or waiting on this instance: zero once every request has settled. */
  get size(): number {
    return this.#slots.size
  }

  /**
   * True when `bucket` may start one more attempt now. With nothing in flight the answer is
   * always yes: the limiter then decides, and nothing can wait on an attempt that does not exist.
   */
  hasRoom(bucket: string, now: number): boolean {
    const slot = this.#slots.get(bucket)
    if (slot === undefined || slot.held === 0) return true
    const budget = this.#budgets.get(bucket)
    const remaining = budget === undefined || budget.until <= now ? this.#policy.maxFailures : budget.remaining
    return slot.held < remaining
  }

  /** Reserves one attempt. Call it in the same synchronous run as the {@link hasRoom} that allowed it. */
  hold(bucket: string): void {
    const slot = this.#slots.get(bucket)
    if (slot === undefined) this.#slots.set(bucket, { held: 1, waiters: [] })
    else slot.held++
  }

  /** Settles one held attempt and wakes whoever waits on the address to look again. */
  release(bucket: string): void {
    const slot = this.#slots.get(bucket)
    if (slot === undefined) return
    slot.held--
    const waiters = slot.waiters
    // An empty slot goes at once, waiters or not: they are woken to look again and hold afresh,
    // and those that then find the address blocked leave without holding. Kept, the slot would
    // stay in the table for good (one per address that ever queued).
    if (slot.held <= 0) this.#slots.delete(bucket)
    else slot.waiters = []
    for (const wake of waiters) wake()
  }

  /**
   * Resolves when an attempt from `bucket` settles, or returns null when too many already wait.
   * Only called when {@link hasRoom} said no, so an attempt is held and will settle.
   */
  wait(bucket: string): Promise<void> | null {
    const slot = this.#slots.get(bucket)
    if (slot === undefined) return Promise.resolve()
    if (slot.waiters.length >= MAX_WAITING) return null
    return new Promise((resolve) => slot.waiters.push(resolve))
  }

  /**
   * Records the limiter's count after a failure (`failures` in the window, when it says). A
   * blocked address needs no budget: the block table refuses it until its window ends, and a new
   * window starts with the full budget.
   */
  learn(bucket: string, failures: number | undefined, blocked: boolean, now: number): void {
    if (blocked) {
      this.#budgets.delete(bucket)
      return
    }
    const max = this.#policy.maxFailures
    const budget = this.#budgets.get(bucket)
    const before = budget === undefined || budget.until <= now ? max : budget.remaining
    const remaining = failures === undefined ? before - 1 : max - failures
    this.#budgets.set(bucket, { remaining: Math.max(0, remaining), until: now + this.#policy.windowMs })
  }
}
