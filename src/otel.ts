/**
 * `keyward/otel`: OpenTelemetry for keyward, opt-in. `@opentelemetry/api` is an optional peer,
 * loaded only by this entry: an app that does not import it pays nothing, and an instance that is
 * not wrapped runs the same code as before.
 *
 * @example
 * ```ts
 * import { createKeyward } from 'keyward'
 * import { instrumentKeyward, instrumentLimiter, instrumentStore } from 'keyward/otel'
 *
 * const kw = instrumentKeyward(createKeyward({ prefix: 'bsk', store: instrumentStore(store), limiter: instrumentLimiter(limiter) }))
 * ```
 */
export { instrumentKeyward, outcomeAttributes, type KeywardTelemetryOptions } from './telemetry/instrument-keyward.js'
export { instrumentStore, instrumentLimiter, type BackendTelemetryOptions } from './telemetry/instrument-backend.js'
export {
  ATTR,
  DURATION_BUCKETS,
  METRIC_LIMITER_DURATION,
  METRIC_STORE_DURATION,
  METRIC_VERIFY_COUNT,
  METRIC_VERIFY_DURATION,
  SPAN_VERIFY,
} from './telemetry/attributes.js'
