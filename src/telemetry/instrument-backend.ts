/**
 * Store and limiter wrappers that time every call into a histogram (and, with a tracer, a child
 * span), so a slow backend shows up beside the verifications it slowed. The wrapper forwards to
 * the backend itself (private fields work, optional methods stay optional).
 */
import { SpanKind, SpanStatusCode, type Histogram, type Meter, type SpanOptions, type Tracer } from '@opentelemetry/api'
import type { RateLimiter, TokenStore } from 'keyward'
import { checkOptions, optionError, type OptionRules } from '../internal/options.js'
import { ATTR, DURATION_BUCKETS, METRIC_LIMITER_DURATION, METRIC_STORE_DURATION } from './attributes.js'
import { instrumentSource } from './instruments.js'

/**
 * Options of {@link instrumentStore} and {@link instrumentLimiter}.
 *
 * @example
 * ```ts
 * instrumentStore(store, { meter: metrics.getMeter('api'), tracer: trace.getTracer('api') })
 * ```
 */
export interface BackendTelemetryOptions {
  /**
   * Default the global MeterProvider's `keyward` meter, followed as it changes: an SDK started
   * after this call still gets the durations (a no-op until then).
   */
  meter?: Meter
  /** With a tracer, each call is also a child span (`keyward.store findById`...). Default none: histograms only. */
  tracer?: Tracer
}

const OPTIONS: OptionRules = {
  meter: (value, path) => {
    if (value === null || typeof value !== 'object' || typeof (value as Meter).createHistogram !== 'function')
      optionError(`${path} must be an OpenTelemetry Meter`)
  },
  tracer: (value, path) => {
    if (value === null || typeof value !== 'object' || typeof (value as Tracer).startSpan !== 'function')
      optionError(`${path} must be an OpenTelemetry Tracer`)
  },
}

const CLIENT_SPAN: SpanOptions = { kind: SpanKind.CLIENT }

function instrument<T extends object>(target: T, kind: 'store' | 'limiter', metric: string, options: BackendTelemetryOptions): T {
  if (target === null || typeof target !== 'object') optionError(`instrument${kind === 'store' ? 'Store' : 'Limiter'}() needs a ${kind}`)
  checkOptions(options, OPTIONS, { label: 'telemetry option', notObject: 'telemetry options must be an object' })
  const histograms = instrumentSource<Histogram>(options.meter, (meter) =>
    meter.createHistogram(metric, {
      unit: 's',
      description: `Time each ${kind} call took`,
      advice: { explicitBucketBoundaries: [...DURATION_BUCKETS] },
    }),
  )
  const { tracer } = options

  const backend = target as Record<string, (...args: unknown[]) => unknown>
  const timed = (name: string) => {
    const okAttributes = { [ATTR.operation]: name, [ATTR.result]: 'ok' }
    const errorAttributes = { [ATTR.operation]: name, [ATTR.result]: 'error' }
    const spanName = `keyward.${kind} ${name}`
    return function (...args: unknown[]): unknown {
      const histogram = histograms()
      const span = tracer?.startSpan(spanName, CLIENT_SPAN)
      // Nothing would be recorded (no SDK): the backend's own call, with no clock read and no
      // closure, and a synchronous answer (limitSync) left synchronous.
      if (histogram === null && (span === undefined || !span.isRecording())) {
        span?.end()
        // The backend itself as `this`: a class with private fields rejects a proxy.
        return backend[name]!(...args)
      }
      const started = histogram === null ? 0 : performance.now()
      const done = (ok: boolean) => {
        histogram?.record((performance.now() - started) / 1000, ok ? okAttributes : errorAttributes)
        if (span !== undefined) {
          if (!ok) span.setStatus({ code: SpanStatusCode.ERROR })
          span.end()
        }
      }
      let result: unknown
      try {
        result = backend[name]!(...args)
      } catch (error) {
        done(false)
        throw error
      }
      if (result !== null && typeof result === 'object' && typeof (result as Promise<unknown>).then === 'function') {
        return (result as Promise<unknown>).then(
          (value) => {
            done(true)
            return value
          },
          (error: unknown) => {
            done(false)
            throw error
          },
        )
      }
      done(true)
      return result
    }
  }

  // An object whose prototype is the backend: `instanceof` and plain fields read through, and
  // each method is an own property (a fast read on every call, unlike a Proxy's trap). The method
  // is looked up on the backend at each call, so one replaced later is timed as it now is.
  const wrapper = Object.create(target) as T
  const { methods, symbols, accessors } = members(target)
  const own = target as Record<PropertyKey, unknown>
  for (const name of methods) {
    const call = name === 'subscribe' ? (...args: unknown[]) => backend[name]!(...args) : timed(name)
    Object.defineProperty(wrapper, name, { value: call, enumerable: false, writable: true, configurable: true })
  }
  // Reached through the prototype, a symbol-keyed method (Symbol.asyncDispose) or an accessor would
  // run with the wrapper as `this`, where a class's private fields are not (RedisRateLimiter's
  // `sharedQuotas` threw): they run on the backend itself.
  for (const symbol of symbols)
    Object.defineProperty(wrapper, symbol, {
      value: (...args: unknown[]) => (own[symbol] as (...a: unknown[]) => unknown)(...args),
      enumerable: false,
      writable: true,
      configurable: true,
    })
  for (const [name, settable] of accessors)
    Object.defineProperty(wrapper, name, {
      get: () => own[name],
      ...(settable ? { set: (value: unknown) => void (own[name] = value) } : {}),
      enumerable: false,
      configurable: true,
    })
  return wrapper
}

// Every method, symbol-keyed method and accessor (with whether it has a setter) of the backend
// and its classes, the nearest definition of a name winning. subscribe() is forwarded untimed: its
// result is an unsubscribe function, not a call worth timing.
function members(target: object): { methods: string[]; symbols: symbol[]; accessors: Map<PropertyKey, boolean> } {
  const methods: string[] = []
  const symbols: symbol[] = []
  const accessors = new Map<PropertyKey, boolean>()
  const seen = new Set<PropertyKey>(['constructor'])
  for (let o: object | null = target; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
    for (const key of Reflect.ownKeys(o)) {
      if (seen.has(key)) continue
      seen.add(key)
      const descriptor = Object.getOwnPropertyDescriptor(o, key)!
      if (typeof descriptor.value === 'function') {
        if (typeof key === 'string') methods.push(key)
        else symbols.push(key)
      } else if (descriptor.get !== undefined || descriptor.set !== undefined) {
        accessors.set(key, descriptor.set !== undefined)
      }
    }
  }
  return { methods, symbols, accessors }
}

/**
 * The store, each call timed into `keyward.store.duration` (seconds) by `keyward.operation` and
 * `keyward.result`. Pass the result to `createKeyward({ store })`.
 *
 * @example
 * ```ts
 * import { instrumentStore } from 'keyward/otel'
 * const kw = createKeyward({ prefix: 'bsk', store: instrumentStore(new PostgresTokenStore({ pool })) })
 * ```
 */
export function instrumentStore<T extends TokenStore>(store: T, options: BackendTelemetryOptions = {}): T {
  return instrument(store, 'store', METRIC_STORE_DURATION, options)
}

/**
 * The limiter, each call timed into `keyward.limiter.duration` (seconds) by `keyward.operation`
 * and `keyward.result`. Pass the result to `createKeyward({ limiter })`.
 *
 * @example
 * ```ts
 * import { instrumentLimiter } from 'keyward/otel'
 * const kw = createKeyward({ prefix: 'bsk', limiter: instrumentLimiter(new RedisRateLimiter({ client: redis })) })
 * ```
 */
export function instrumentLimiter<T extends RateLimiter>(limiter: T, options: BackendTelemetryOptions = {}): T {
  return instrument(limiter, 'limiter', METRIC_LIMITER_DURATION, options)
}
