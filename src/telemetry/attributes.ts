/**
 * The names keyward's telemetry uses, in one place: span and metric names and attribute keys.
 * None of them ever carries a credential; a key id appears only on a successful verification's
 * span (see docs/telemetry.md for why).
 */

/**
 * Span and metric names.
 *
 * @example
 * ```ts
 * tracer.startActiveSpan(SPAN_VERIFY, (span) => ...)
 * ```
 */
export const SPAN_VERIFY = 'keyward.verify'
/** @example `meter.createCounter(METRIC_VERIFY_COUNT)` */
export const METRIC_VERIFY_COUNT = 'keyward.verify.count'
/** @example `meter.createHistogram(METRIC_VERIFY_DURATION, { unit: 's' })` */
export const METRIC_VERIFY_DURATION = 'keyward.verify.duration'
/** @example `meter.createHistogram(METRIC_STORE_DURATION, { unit: 's' })` */
export const METRIC_STORE_DURATION = 'keyward.store.duration'
/** @example `meter.createHistogram(METRIC_LIMITER_DURATION, { unit: 's' })` */
export const METRIC_LIMITER_DURATION = 'keyward.limiter.duration'

/**
 * Attribute keys.
 *
 * @example
 * ```ts
 * span.setAttribute(ATTR.outcome, 'refused')
 * ```
 */
export const ATTR = Object.freeze({
  /** `success`, `refused` (the credential or request was refused) or `error` (503: store or limiter failed). */
  outcome: 'keyward.outcome',
  /** The refusal's `KeywardError` code; absent on success. */
  code: 'keyward.code',
  /** The HTTP status the refusal maps to. */
  status: 'http.response.status_code',
  /** `api_key` or `jwt`, on success. */
  credentialType: 'keyward.credential.type',
  /** The authenticated key's id, on success only (option `keyId: false` drops it). */
  keyId: 'keyward.key.id',
  /** The authenticated principal's org, on success only. */
  org: 'keyward.org',
  /** The store or limiter method timed (`findById`, `limit`...). */
  operation: 'keyward.operation',
  /** `ok` or `error`, for a store or limiter call. */
  result: 'keyward.result',
})

/**
 * Bucket bounds, in seconds, for the duration histograms: 50 µs (a cache hit) to 2.5 s (a
 * store timing out), where the SDK's defaults (made for milliseconds) would put every call in
 * the first bucket.
 *
 * @example
 * ```ts
 * meter.createHistogram(METRIC_STORE_DURATION, { unit: 's', advice: { explicitBucketBoundaries: DURATION_BUCKETS } })
 * ```
 */
export const DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
])
