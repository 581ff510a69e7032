/**
 * Where the wrappers' counters and histograms come from. The metrics API has no proxy (unlike
 * the trace API): `metrics.getMeter()` called before the app registers its MeterProvider hands
 * back the no-op meter for good. Wrapping keyward at import time and starting the SDK later is
 * the usual order, so with no meter given the instruments are looked up again whenever the
 * global provider changes, and nothing is measured while nobody would record it.
 */
import { createNoopMeter, metrics, type Meter, type MeterProvider } from '@opentelemetry/api'

/** The API's one no-op meter: what every meter of the no-op provider is. */
const NOOP_METER: Meter = createNoopMeter()

/**
 * A source of the instruments `create` makes: called per operation, it answers them, or null
 * when they would record nothing (the no-op meter), so the caller skips its clock reads and
 * attribute lookups too.
 *
 * @example
 * ```ts
 * const current = instrumentSource(options.meter, (meter) => meter.createCounter('keyward.verify.count'))
 * current()?.add(1)
 * ```
 */
export type InstrumentSource<T> = () => T | null

/**
 * The instruments of `meter` when one is given (fixed: the caller chose it), else of the global
 * MeterProvider's `keyward` meter as it is at each call: registered later or replaced (tests
 * re-registering between cases), the next operation reports to the new one.
 *
 * @example
 * ```ts
 * const histograms = instrumentSource(undefined, (meter) => meter.createHistogram('keyward.store.duration', { unit: 's' }))
 * const histogram = histograms()
 * if (histogram !== null) histogram.record(0.001)
 * ```
 */
export function instrumentSource<T>(meter: Meter | undefined, create: (meter: Meter) => T): InstrumentSource<T> {
  if (meter !== undefined) {
    const fixed = meter === NOOP_METER ? null : create(meter)
    return () => fixed
  }
  let provider: MeterProvider | undefined
  let current: T | null = null
  return () => {
    // One property read on the global object while nothing is registered: the API's own getter.
    const now = metrics.getMeterProvider()
    if (now !== provider) {
      provider = now
      const global = now.getMeter('keyward')
      current = global === NOOP_METER ? null : create(global)
    }
    return current
  }
}
