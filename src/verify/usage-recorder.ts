import { unrefTimer } from '../internal/timers.js'
import type { TokenStore } from '../stores/token-store.js'

/**
 * Keeps background work alive past the response, as a Worker's `ctx.waitUntil` does.
 *
 * @example
 * ```ts
 * const waitUntil: WaitUntil = (promise) => ctx.waitUntil(promise)
 * ```
 */
export type WaitUntil = (promise: Promise<unknown>) => void

/**
 * Collects last-used times in memory and writes them to the store in one batch per interval, so
 * that a verification never waits on (or pays for) a write. At most one write per key per interval.
 *
 * Where the platform gives a `waitUntil` (Workers), no timer is armed: a timer armed in a request
 * never fires there once the response is sent. Whatever the platform, a record that arrives after
 * the batch was due flushes at once, so a timer that died never stops the writes.
 *
 * @example
 * ```ts
 * const usage = new UsageRecorder(store, 60_000, console.error)
 * usage.record('4fTq9ZkA', Date.now(), (p) => ctx.waitUntil(p))
 * await usage.flush()
 * ```
 */
export class UsageRecorder {
  readonly #pending = new Map<string, number>()
  readonly #store: TokenStore
  readonly #intervalMs: number
  readonly #onError: (error: unknown) => void
  #timer: ReturnType<typeof setTimeout> | undefined
  // When the oldest pending entry must be written, on the clock the records are stamped with.
  #dueAt = 0

  constructor(store: TokenStore, intervalMs: number, onError: (error: unknown) => void) {
    this.#store = store
    this.#intervalMs = intervalMs
    this.#onError = onError
  }

  /**
   * Notes that key `id` was used at `now`. Memory only, unless the batch is due: then it is
   * written now, in the background, kept alive through `waitUntil` when given.
   */
  record(id: string, now: number, waitUntil?: WaitUntil): void {
    if (this.#pending.size === 0) this.#dueAt = now + this.#intervalMs
    this.#pending.set(id, now)
    // Due, or the clock went back by more than an interval (it would postpone the write for as long).
    if (now >= this.#dueAt || now < this.#dueAt - this.#intervalMs) {
      const written = this.flush()
      waitUntil?.(written)
      return
    }
    if (waitUntil === undefined && this.#timer === undefined) {
      this.#timer = setTimeout(() => void this.flush(), this.#intervalMs)
      // Do not keep a Node process alive just to record usage.
      unrefTimer(this.#timer)
    }
  }

  /** Writes what is pending now. Resolves even when the store fails (the error goes to `onError`). */
  async flush(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#pending.size === 0) return
    const entries = [...this.#pending].map(([id, lastUsedAt]) => ({ id, lastUsedAt }))
    this.#pending.clear()
    try {
      await this.#store.touch(entries)
    } catch (error) {
      this.#onError(error)
    }
  }
}
