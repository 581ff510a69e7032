/**
 * A global MeterProvider registered later that throws when asked for a meter or an instrument:
 * telemetry is an observer, so verification goes on (never a synchronous throw, never a 503),
 * nothing is recorded against it, and no instruments of a provider it replaced are used.
 */
import { metrics, trace, type Meter, type MeterProvider } from '@opentelemetry/api'
import { MeterProvider as SdkMeterProvider, MetricReader, type SumMetricData } from '@opentelemetry/sdk-metrics'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { afterEach, describe, expect, it } from 'vitest'
import { createKeyward, MemoryRateLimiter, MemoryTokenStore } from '../../src/index.js'
import { ATTR, instrumentKeyward, instrumentLimiter, instrumentStore } from '../../src/otel.js'

class TestReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

const brokenGetMeter = { getMeter: () => { throw new Error('broken provider') } } as unknown as MeterProvider // prettier-ignore
const brokenCreate = {
  getMeter: (): Meter => {
    const meter = new SdkMeterProvider().getMeter('x')
    const fail = () => {
      throw new Error('broken instrument')
    }
    return Object.assign(Object.create(meter) as Meter, { createCounter: fail, createHistogram: fail })
  },
} as unknown as MeterProvider

function wrapped(tracer?: ReturnType<BasicTracerProvider['getTracer']>) {
  return instrumentKeyward(
    createKeyward({
      prefix: 'bsk',
      usageFlushMs: false,
      cache: false,
      store: instrumentStore(new MemoryTokenStore(), { tracer }),
      limiter: instrumentLimiter(new MemoryRateLimiter(), { tracer }),
      defaultRateLimit: { limit: 100, windowMs: 60_000 },
    }),
    { tracer },
  )
}

async function counts(reader: TestReader): Promise<number[]> {
  const { resourceMetrics } = await reader.collect()
  const metric = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === 'keyward.verify.count')
  return ((metric as SumMetricData | undefined)?.dataPoints ?? []).map((p) => p.value)
}

afterEach(() => {
  metrics.disable()
  trace.disable()
})

describe('a MeterProvider that throws', () => {
  it.each([
    ['getMeter throws', brokenGetMeter],
    ['createCounter / createHistogram throw', brokenCreate],
  ])('%s: verify() neither throws nor fails, store and limiter calls go through', async (_name, provider) => {
    const kw = wrapped()
    const { key } = await kw.keys.create({ name: 'n', orgId: 'org_1', projects: ['p'] })
    metrics.setGlobalMeterProvider(provider)
    let pending: Promise<unknown> | undefined
    expect(() => (pending = kw.verify({ headers: {} }))).not.toThrow()
    await pending
    const result = await kw.verify({ headers: { authorization: `Bearer ${key}` } })
    expect(result.ok).toBe(true)
  })

  it('the verify span started is still ended, with its outcome', async () => {
    const exporter = new InMemorySpanExporter()
    const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).getTracer('t')
    const kw = wrapped(tracer)
    const { key } = await kw.keys.create({ name: 'n', orgId: 'org_1', projects: ['p'] })
    metrics.setGlobalMeterProvider(brokenGetMeter)
    exporter.reset()
    expect((await kw.verify({ headers: { authorization: `Bearer ${key}` } })).ok).toBe(true)
    const spans = exporter.getFinishedSpans()
    expect(spans.map((s) => s.name).sort()).toEqual(['keyward.limiter limitSync', 'keyward.store findById', 'keyward.verify'])
    expect(spans.find((s) => s.name === 'keyward.verify')!.attributes[ATTR.outcome]).toBe('success')
  })

  it('replacing a working provider: nothing more goes to the old one, and a working one after is used', async () => {
    const kw = wrapped()
    const first = new TestReader()
    metrics.setGlobalMeterProvider(new SdkMeterProvider({ readers: [first] }))
    await kw.verify({ headers: {} })
    metrics.disable()
    metrics.setGlobalMeterProvider(brokenGetMeter)
    await kw.verify({ headers: {} })
    await kw.verify({ headers: {} })
    expect(await counts(first)).toEqual([1])

    metrics.disable()
    const last = new TestReader()
    metrics.setGlobalMeterProvider(new SdkMeterProvider({ readers: [last] }))
    await kw.verify({ headers: {} })
    expect(await counts(last)).toEqual([1])
    expect(await counts(first)).toEqual([1])
  })
})
