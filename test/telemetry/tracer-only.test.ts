/**
 * Tracing with no MeterProvider at all: the wrappers' shortcut (skip everything when nothing
 * would be recorded) must look at the span too, not only at the missing instruments.
 */
import { SpanStatusCode } from '@opentelemetry/api'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { expect, it } from 'vitest'
import { createKeyward, MemoryRateLimiter, MemoryTokenStore } from '../../src/index.js'
import { ATTR, instrumentKeyward, instrumentLimiter, instrumentStore } from '../../src/otel.js'

it('a tracer and no MeterProvider: the verify, store and limiter spans are all recorded', async () => {
  const exporter = new InMemorySpanExporter()
  const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).getTracer('t')
  const kw = instrumentKeyward(
    createKeyward({
      prefix: 'bsk',
      usageFlushMs: false,
      cache: false,
      store: instrumentStore(new MemoryTokenStore(), { tracer }),
      limiter: instrumentLimiter(new MemoryRateLimiter(), { tracer }),
      defaultRateLimit: { limit: 9, windowMs: 60_000 },
    }),
    { tracer },
  )
  const { key } = await kw.keys.create({ name: 'n', orgId: 'org_1', projects: ['p'] })
  exporter.reset()
  expect((await kw.verify({ headers: { authorization: `Bearer ${key}` } })).ok).toBe(true)
  const spans = exporter.getFinishedSpans()
  expect(spans.map((s) => s.name).sort()).toEqual(['keyward.limiter limitSync', 'keyward.store findById', 'keyward.verify'])
  expect(spans.find((s) => s.name === 'keyward.verify')!.attributes[ATTR.outcome]).toBe('success')
})

it('a tracer and no MeterProvider: a failing store call is an ERROR span, and so is the 503 it causes', async () => {
  const exporter = new InMemorySpanExporter()
  const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).getTracer('t')
  const store = new MemoryTokenStore()
  const kw = instrumentKeyward(
    createKeyward({ prefix: 'bsk', usageFlushMs: false, cache: false, store: instrumentStore(store, { tracer }) }),
    { tracer },
  )
  const { key } = await kw.keys.create({ name: 'n', orgId: 'org_1', projects: ['p'] })
  store.findById = () => Promise.reject(new Error('store down'))
  exporter.reset()
  const result = await kw.verify({ headers: { authorization: `Bearer ${key}` } })
  expect(result.ok ? 'ok' : result.error.code).toBe('store_unavailable')
  const status = (name: string) => exporter.getFinishedSpans().find((s) => s.name === name)?.status.code
  expect([status('keyward.store findById'), status('keyward.verify')]).toEqual([SpanStatusCode.ERROR, SpanStatusCode.ERROR])
})
