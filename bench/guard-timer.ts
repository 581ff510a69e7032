/**
 * A guard's own time per request inside a running server: from the moment the framework calls it
 * to the moment it hands the request on (`next()`, `done()`), so the route and the framework's
 * own work are left out. bench/http-server.ts wraps every guard with it when started with
 * BENCH_TIME_GUARDS=1 (bench/http-guard-time.bench.ts), and reports over IPC. Each request's time
 * is kept, and the median is what is reported: a request during which the kernel took the core
 * away, or a major GC ran, lands in the tail instead of the figure.
 *
 * @example
 * ```ts
 * const timer = createGuardTimer()
 * const t0 = performance.now()
 * // ... the guard runs, then hands on:
 * timer.record('keyward', t0)
 * timer.take() // { keyward: { requests: 1, dropped: 0, medianUs: 3.1, meanUs: 3.1 } }
 * ```
 */
import { median } from './harness.js'

/** What take() reports for one guard. */
export interface GuardTime {
  /** Requests handed on since the last take(). */
  requests: number
  /** Requests past the buffer's capacity, whose times were not kept (the bench refuses a load with any). */
  dropped: number
  /** Median of their times, µs. */
  medianUs: number
  /** Mean of their times below 1 ms (a preempted request is left out), µs. */
  meanUs: number
}

const CAPACITY = 1 << 18

/** Per-guard recorder of request times; take() reports and starts afresh. */
export function createGuardTimer(): { record(guard: string, t0: number): void; take(): Record<string, GuardTime> } {
  const samples = new Map<string, { times: Float64Array; n: number }>()
  return {
    record(guard, t0) {
      const elapsed = performance.now() - t0
      let slot = samples.get(guard)
      if (slot === undefined) samples.set(guard, (slot = { times: new Float64Array(CAPACITY), n: 0 }))
      if (slot.n < CAPACITY) slot.times[slot.n] = elapsed
      slot.n++
    },
    take() {
      const out: Record<string, GuardTime> = {}
      for (const [guard, slot] of samples) {
        const times = Array.from(slot.times.subarray(0, Math.min(slot.n, CAPACITY)))
        const kept = times.filter((t) => t < 1)
        out[guard] = {
          requests: slot.n,
          dropped: Math.max(0, slot.n - CAPACITY),
          medianUs: times.length === 0 ? NaN : median(times) * 1000,
          meanUs: (kept.reduce((a, b) => a + b, 0) / kept.length) * 1000,
        }
        slot.n = 0
      }
      return out
    },
  }
}
