/**
 * A keyward instance whose `verify()` reports to OpenTelemetry: one span per verification, a
 * counter per outcome and a duration histogram. Opt-in and outside the pipeline: an instance
 * that is not wrapped runs exactly the code it ran before.
 */
import {
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Counter,
  type Histogram,
  type Meter,
  type Span,
  type SpanOptions,
  type Tracer,
} from '@opentelemetry/api'
// Types by package name: the published declarations then refer to keyward's own, not a copy.
import type { Keyward, VerifyResult } from 'keyward'
import { checkOptions, boolean, optionError, type OptionRules } from '../internal/options.js'
import { ATTR, DURATION_BUCKETS, METRIC_VERIFY_COUNT, METRIC_VERIFY_DURATION, SPAN_VERIFY } from './attributes.js'
import { instrumentSource } from './instruments.js'

/**
 * Options of {@link instrumentKeyward}.
 *
 * @example
 * ```ts
 * instrumentKeyward(kw, { tracer: trace.getTracer('api'), meter: metrics.getMeter('api'), keyId: false })
 * ```
 */
export interface KeywardTelemetryOptions {
  /** Default `trace.getTracer('keyward')` (a no-op until an SDK is registered). */
  tracer?: Tracer
  /**
   * Default the global MeterProvider's `keyward` meter, followed as it changes: an SDK started
   * after this call still gets the metrics (a no-op until then).
   */
  meter?: Meter
  /** Put the authenticated key's id on a successful span. Default true; never on a refusal. */
  keyId?: boolean
}

const OPTIONS: OptionRules = {
  tracer: (value, path) => {
    if (value === null || typeof value !== 'object' || typeof (value as Tracer).startActiveSpan !== 'function')
      optionError(`${path} must be an OpenTelemetry Tracer`)
  },
  meter: (value, path) => {
    if (value === null || typeof value !== 'object' || typeof (value as Meter).createCounter !== 'function')
      optionError(`${path} must be an OpenTelemetry Meter`)
  },
  keyId: boolean,
}

const SPAN_OPTIONS: SpanOptions = { kind: SpanKind.INTERNAL }
const SUCCESS: Attributes = Object.freeze({ [ATTR.outcome]: 'success' })
const REFUSALS = new Map<string, Attributes>()

// A metric's attributes: one frozen set per refusal code (a dozen at most), not an object per request.
function metricAttributes(result: VerifyResult): Attributes {
  if (result.ok) return SUCCESS
  const code = result.error.code
  let attributes = REFUSALS.get(code)
  if (attributes === undefined)
    REFUSALS.set(
      code,
      (attributes = Object.freeze({ [ATTR.outcome]: code === 'store_unavailable' ? 'error' : 'refused', [ATTR.code]: code })),
    )
  return attributes
}

interface VerifyInstruments {
  count: Counter
  duration: Histogram
}

/**
 * The attributes of one verification's outcome. A refusal names its code and status only: the
 * presented credential, and the key id parsed from it, are the caller's claim, not a fact.
 *
 * @example
 * ```ts
 * span.setAttributes(outcomeAttributes(result, true))
 * ```
 */
export function outcomeAttributes(result: VerifyResult, withKeyId: boolean): Attributes {
  if (result.ok) {
    const attributes: Attributes = { [ATTR.outcome]: 'success', [ATTR.credentialType]: result.auth.type, [ATTR.org]: result.auth.org }
    if (withKeyId && result.auth.type === 'api_key') attributes[ATTR.keyId] = result.auth.keyId
    return attributes
  }
  const { code, status } = result.error
  return { [ATTR.outcome]: code === 'store_unavailable' ? 'error' : 'refused', [ATTR.code]: code, [ATTR.status]: status }
}

/**
 * Wraps `kw` so that each `verify()` is a `keyward.verify` span (status ERROR only for a 503,
 * a refusal is an ordinary outcome), counted in `keyward.verify.count` by outcome and code and
 * timed in `keyward.verify.duration` (seconds). Everything else is the instance itself. Store
 * and limiter latencies come from {@link instrumentStore} and {@link instrumentLimiter}.
 *
 * @example
 * ```ts
 * import { instrumentKeyward, instrumentLimiter, instrumentStore } from 'keyward/otel'
 *
 * const kw = instrumentKeyward(
 *   createKeyward({ prefix: 'bsk', store: instrumentStore(store), limiter: instrumentLimiter(limiter) }),
 * )
 * ```
 */
export function instrumentKeyward(kw: Keyward, options: KeywardTelemetryOptions = {}): Keyward {
  if (kw === null || typeof kw !== 'object' || typeof kw.verify !== 'function')
    optionError('instrumentKeyward(kw) needs the instance createKeyward() returned')
  checkOptions(options, OPTIONS, { label: 'telemetry option', notObject: 'telemetry options must be an object' })
  const tracer = options.tracer ?? trace.getTracer('keyward')
  const withKeyId = options.keyId ?? true
  const instruments = instrumentSource<VerifyInstruments>(options.meter, (meter) => ({
    count: meter.createCounter(METRIC_VERIFY_COUNT, { description: 'Verifications by outcome and refusal code' }),
    duration: meter.createHistogram(METRIC_VERIFY_DURATION, {
      unit: 's',
      description: 'Time kw.verify() took',
      advice: { explicitBucketBoundaries: [...DURATION_BUCKETS] },
    }),
  }))
  const verify = kw.verify.bind(kw)

  const finish = (span: Span, meters: VerifyInstruments | null, started: number, result: VerifyResult): VerifyResult => {
    // A span nobody records (sampled out) would drop its attributes: they are not even built.
    if (span.isRecording()) {
      span.setAttributes(outcomeAttributes(result, withKeyId))
      if (!result.ok && result.error.code === 'store_unavailable')
        span.setStatus({ code: SpanStatusCode.ERROR, message: 'store_unavailable' })
    }
    span.end()
    if (meters !== null) {
      // Metrics never carry the key id or org: one series per key would grow without bound.
      const attributes = metricAttributes(result)
      meters.count.add(1, attributes)
      meters.duration.record((performance.now() - started) / 1000, attributes)
    }
    return result
  }

  // startSpan, not startActiveSpan: no context is made active around the pipeline (a context copy
  // and a closure per request). Store and limiter spans are then siblings under the caller's span.
  const instrumented: Keyward['verify'] = (input) => {
    // Instruments first: the span is started only once nothing before it can fail to end it.
    const meters = instruments()
    const span = tracer.startSpan(SPAN_VERIFY, SPAN_OPTIONS)
    // Nothing would be recorded (no SDK, or a sampled-out span and no metrics): verify() as it
    // is, with no clock read, no closure and no extra promise. Ending a span that does not
    // record is a no-op; it is ended all the same, as the API asks of every span started.
    if (meters === null && !span.isRecording()) {
      span.end()
      return verify(input)
    }
    const started = meters === null ? 0 : performance.now()
    return verify(input).then(
      (result) => finish(span, meters, started, result),
      (error: unknown) => {
        // verify() never rejects; should it, the span must still end and say so.
        span.setStatus({ code: SpanStatusCode.ERROR })
        span.end()
        throw error
      },
    )
  }

  return Object.freeze({ ...kw, verify: instrumented })
}
