/** What `setTimeout` returns here: a number in browsers and Workers, an object in Node. */
export type Timer = ReturnType<typeof setTimeout>

/**
 * Lets a Node process exit while only this timer is pending (background work such as heartbeats
 * and batched writes must never keep a server alive); a no-op where timers are plain numbers.
 *
 * @example
 * ```ts
 * unrefTimer(setInterval(heartbeat, 10_000))
 * ```
 */
export function unrefTimer(timer: Timer): void {
  ;(timer as unknown as { unref?: () => void }).unref?.()
}

/**
 * `promise`, or a rejection `keyward: <what> timed out after <ms> ms` once `ms` have passed. A
 * result that arrives later is dropped (`onLate` may clean it up, e.g. release a connection); a
 * rejection that is not an Error is wrapped in one.
 *
 * @example
 * ```ts
 * const rows = await withTimeout(pool.query(sql), 500, 'Postgres query')
 * ```
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string, onLate?: (value: T) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      reject(new Error(`keyward: ${what} timed out after ${ms} ms`))
    }, ms)
    promise.then(
      (value) => {
        clearTimeout(timer)
        if (timedOut) onLate?.(value)
        else resolve(value)
      },
      (error: unknown) => {
        clearTimeout(timer)
        reject(error instanceof Error ? error : new Error(String(error)))
      },
    )
  })
}
