import { metrics, trace } from '@opentelemetry/api'
import { MeterProvider, MetricReader, type HistogramMetricData, type SumMetricData } from '@opentelemetry/sdk-metrics'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { afterEach, describe, expect, it } from 'vitest'
import { createKeyward, MemoryRateLimiter, MemoryTokenStore } from '../../src/index.js'
import { ATTR, instrumentKeyward, instrumentLimiter, instrumentStore } from '../../src/otel.js'

class TestReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

// The usual order in an app: keyward is wrapped at import time, the SDK is started later (or
// re-registered between tests). The global providers are this file's own (vitest isolates files).
function registerSdk() {
  const exporter = new InMemorySpanExporter()
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }))
  const reader = new TestReader()
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }))
  const metric = async (name: string) => {
    const { resourceMetrics } = await reader.collect()
    return resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === name)
  }
  return { exporter, metric }
}

function wrapped() {
  return instrumentKeyward(
    createKeyward({
      prefix: 'bsk',
      store: instrumentStore(new MemoryTokenStore()),
      limiter: instrumentLimiter(new MemoryRateLimiter()),
      usageFlushMs: false,
    }),
  )
}

afterEach(() => {
  trace.disable()
  metrics.disable()
})

describe('keyward/otel with the global providers', () => {
  it('an SDK registered after instrumentKeyward() gets the spans and the metrics', async () => {
    const kw = wrapped()
    const { key } = await kw.keys.create({ name: 'n', orgId: 'org_1', projects: ['p'] })
    // Nothing registered yet: these go nowhere, and nothing breaks.
    expect((await kw.verify({ headers: { authorization: `Bearer ${key}` }, ip: '203.0.113.1' })).ok).toBe(true)

    const { exporter, metric } = registerSdk()
    expect((await kw.verify({ headers: { authorization: `Bearer ${key}` }, ip: '203.0.113.1' })).ok).toBe(true)
    await kw.verify({ headers: {} })

    expect(exporter.getFinishedSpans().map((s) => s.attributes[ATTR.outcome])).toEqual(['success', 'refused'])
    const counts = (await metric('keyward.verify.count')) as SumMetricData | undefined
    expect(counts?.dataPoints.map((p) => [p.attributes[ATTR.outcome], p.value])).toEqual([
      ['success', 1],
      ['refused', 1],
    ])
    const durations = (await metric('keyward.verify.duration')) as HistogramMetricData | undefined
    expect(durations?.dataPoints.reduce((n, p) => n + p.value.count, 0)).toBe(2)
    const limiter = (await metric('keyward.limiter.duration')) as HistogramMetricData | undefined
    expect(limiter?.dataPoints.map((p) => p.attributes[ATTR.operation])).toContain('limitSync')
  })

  it('follows a MeterProvider replaced between tests', async () => {
    const kw = wrapped()
    const { key } = await kw.keys.create({ name: 'n', orgId: 'org_1', projects: ['p'] })
    const first = registerSdk()
    await kw.verify({ headers: { authorization: `Bearer ${key}` } })
    metrics.disable()
    const reader = new TestReader()
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }))
    await kw.verify({ headers: { authorization: `Bearer ${key}` } })
    await kw.verify({ headers: { authorization: `Bearer ${key}` } })
    const { resourceMetrics } = await reader.collect()
    const counts = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === 'keyward.verify.count')
    expect((counts as SumMetricData | undefined)?.dataPoints.map((p) => p.value)).toEqual([2])
    expect(((await first.metric('keyward.verify.count')) as SumMetricData).dataPoints.map((p) => p.value)).toEqual([1])
  })

  it('a store wrapped before the SDK is started times its calls once it is', async () => {
    const store = instrumentStore(new MemoryTokenStore())
    const { metric } = registerSdk()
    expect(await store.findById('nope')).toBeNull()
    const durations = (await metric('keyward.store.duration')) as HistogramMetricData | undefined
    expect(durations?.dataPoints.map((p) => [p.attributes[ATTR.operation], p.attributes[ATTR.result], p.value.count])).toEqual([
      ['findById', 'ok', 1],
    ])
  })
})
