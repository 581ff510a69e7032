/**
 * A keyward instance whose `verify()` reports to OpenTelemetry: one span per verification, a
 * counter per outcome and a duration histogram. Opt-in and outside the pipeline: an instance
 * that is not wrapped runs exactly the code it ran before.
 */
import {
  metrics,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Meter,
  type Span,
  type SpanOptions,
  type Tracer,
} from '@opentelemetry/api'
// Types by package name: the published declarations then refer to keyward's own, not a copy.
import type { Keyward, VerifyResult } from 'keyward'
import { checkOptions, boolean, optionError, type OptionRules } from '../internal/options.js'
import { ATTR, DURATION_BUCKETS, METRIC_VERIFY_COUNT, METRIC_VERIFY_DURATION, SPAN_VERIFY } from './attributes.js'

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
  /** Default `metrics.getMeter('keyward')`. */
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

// One frozen attribute set per refusal code (a dozen at most), not an object per request.
function refusalAttributes(span: Attributes): Attributes {
  const code = span[ATTR.code] as string
  let attributes = REFUSALS.get(code)
  if (attributes === undefined) REFUSALS.set(code, (attributes = Object.freeze({ [ATTR.outcome]: span[ATTR.outcome], [ATTR.code]: code })))
  return attributes
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
  const meter = options.meter ?? metrics.getMeter('keyward')
  const withKeyId = options.keyId ?? true
  const count = meter.createCounter(METRIC_VERIFY_COUNT, { description: 'Verifications by outcome and refusal code' })
  const duration = meter.createHistogram(METRIC_VERIFY_DURATION, {
    unit: 's',
    description: 'Time kw.verify() took',
    advice: { explicitBucketBoundaries: [...DURATION_BUCKETS] },
  })
  const verify = kw.verify.bind(kw)

  const finish = (span: Span, started: number, result: VerifyResult): VerifyResult => {
    const attributes = outcomeAttributes(result, withKeyId)
    span.setAttributes(attributes)
    if (!result.ok && result.error.code === 'store_unavailable')
      span.setStatus({ code: SpanStatusCode.ERROR, message: 'store_unavailable' })
    span.end()
    // Metrics never carry the key id or org: one series per key would grow without bound.
    const metricAttributes = result.ok ? SUCCESS : refusalAttributes(attributes)
    count.add(1, metricAttributes)
    duration.record((performance.now() - started) / 1000, metricAttributes)
    return result
  }

  // startSpan, not startActiveSpan: no context is made active around the pipeline (a context copy
  // and a closure per request). Store and limiter spans are then siblings under the caller's span.
  const instrumented: Keyward['verify'] = (input) => {
    const span = tracer.startSpan(SPAN_VERIFY, SPAN_OPTIONS)
    const started = performance.now()
    return verify(input).then(
      (result) => finish(span, started, result),
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
