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
      const next = instrumentsOf(now, create)
      // Both at once, only now: a provider that threw leaves neither its predecessor's
      // instruments in use nor a half-made set.
      provider = now
      current = next
    }
    return current
  }
}

/**
 * The instruments of the provider's `keyward` meter, or null for the no-op meter and for a
 * provider that throws making them. Telemetry watches verification and must never break it: such
 * a provider measures nothing, rather than making every verify() and store call throw. The
 * error is dropped: no hook of the instance reaches this far, and the provider is the app's own.
 */
function instrumentsOf<T>(provider: MeterProvider, create: (meter: Meter) => T): T | null {
  try {
    const meter = provider.getMeter('keyward')
    return meter === NOOP_METER ? null : create(meter)
  } catch {
    return null
  }
}
