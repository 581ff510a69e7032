import { unrefTimer } from './internal/timers.js'
import type { TokenStore } from './stores/token-store.js'

/**
 * Collects last-used times in memory and writes them to the store in one batch per interval, so
 * that a verification never waits on (or pays for) a write. At most one write per key per interval.
 *
 * @example
 * ```ts
 * const usage = new UsageRecorder(store, 60_000, console.error)
 * usage.record('4fTq9ZkA', Date.now())
 * await usage.flush()
 * ```
 */
export class UsageRecorder {
  readonly #pending = new Map<string, number>()
  readonly #store: TokenStore
  readonly #intervalMs: number
  readonly #onError: (error: unknown) => void
  #timer: ReturnType<typeof setTimeout> | undefined

  constructor(store: TokenStore, intervalMs: number, onError: (error: unknown) => void) {
    this.#store = store
    this.#intervalMs = intervalMs
    this.#onError = onError
  }

  /** Notes that key `id` was used at `now`. Memory only; the write happens later. */
  record(id: string, now: number): void {
    this.#pending.set(id, now)
    if (this.#timer === undefined) {
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
