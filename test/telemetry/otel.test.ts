import { readdirSync, readFileSync } from 'node:fs'
import { join, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { SpanStatusCode } from '@opentelemetry/api'
import { MeterProvider, MetricReader, type HistogramMetricData, type SumMetricData } from '@opentelemetry/sdk-metrics'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { describe, expect, it } from 'vitest'
import Redis from 'ioredis'
import { createKeyward, MemoryRateLimiter, MemoryTokenStore, withFailurePolicy, type TokenStore } from '../../src/index.js'
import { RedisRateLimiter } from '../../src/redis.js'
import { generateKey } from '../../src/keys/format.js'
import { ATTR, instrumentKeyward, instrumentLimiter, instrumentStore } from '../../src/otel.js'

class TestReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

function telemetry() {
  const exporter = new InMemorySpanExporter()
  const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).getTracer('test')
  const reader = new TestReader()
  const meter = new MeterProvider({ readers: [reader] }).getMeter('test')
  const metric = async (name: string) => {
    const { resourceMetrics } = await reader.collect()
    return resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === name)
  }
  return { exporter, tracer, meter, metric }
}

async function setup(options: { keyId?: boolean; store?: MemoryTokenStore } = {}) {
  const t = telemetry()
  const store = options.store ?? new MemoryTokenStore()
  const kw = instrumentKeyward(
    createKeyward({
      prefix: 'bsk',
      store: instrumentStore(store, { meter: t.meter, tracer: t.tracer }),
      limiter: instrumentLimiter(new MemoryRateLimiter(), { meter: t.meter }),
      usageFlushMs: false,
      cache: false,
    }),
    { tracer: t.tracer, meter: t.meter, ...(options.keyId === undefined ? {} : { keyId: options.keyId }) },
  )
  const { key, info } = await kw.keys.create({ name: 'n', orgId: 'org_1', projects: ['p'], rateLimit: { limit: 100, windowMs: 60_000 } })
  return { ...t, kw, key, info, store }
}

const verifySpans = (exporter: InMemorySpanExporter) => exporter.getFinishedSpans().filter((s) => s.name === 'keyward.verify')

describe('keyward/otel', () => {
  it('a success: one span with outcome, type, org and key id; never the key', async () => {
    const { kw, key, info, exporter } = await setup()
    expect((await kw.verify({ headers: { authorization: `Bearer ${key}` } })).ok).toBe(true)
    const [span] = verifySpans(exporter)
    expect(span?.attributes).toEqual({
      [ATTR.outcome]: 'success',
      [ATTR.credentialType]: 'api_key',
      [ATTR.org]: 'org_1',
      [ATTR.keyId]: info.id,
    })
    expect(span?.status.code).toBe(SpanStatusCode.UNSET)
    expect(JSON.stringify(exporter.getFinishedSpans().map((s) => s.attributes))).not.toContain(key.slice(17))
  })

  it('a refusal: code and status only, no key id even when the presented key names a real one', async () => {
    const { kw, info, exporter } = await setup()
    const forged = generateKey('bsk', 'live', info.id).key
    const result = await kw.verify({ headers: { authorization: `Bearer ${forged}` }, ip: '203.0.113.1' })
    expect(result.ok).toBe(false)
    const [span] = verifySpans(exporter)
    expect(span?.attributes).toEqual({ [ATTR.outcome]: 'refused', [ATTR.code]: 'invalid_token', [ATTR.status]: 401 })
    expect(JSON.stringify(span?.attributes)).not.toContain(info.id)
    expect(span?.status.code).toBe(SpanStatusCode.UNSET)
  })

  it('keyId: false keeps the key id off successful spans too', async () => {
    const { kw, key, exporter } = await setup({ keyId: false })
    await kw.verify({ headers: { authorization: `Bearer ${key}` } })
    expect(verifySpans(exporter)[0]?.attributes[ATTR.keyId]).toBeUndefined()
  })

  it('a store failure is outcome error, span status ERROR, and a store call timed as error', async () => {
    const store = new MemoryTokenStore()
    const { kw, key, exporter, metric } = await setup({ store })
    store.findById = () => Promise.reject(new Error('down'))
    const result = await kw.verify({ headers: { authorization: `Bearer ${key}` }, ip: '203.0.113.2' })
    expect(result.ok || result.error.code).toBe('store_unavailable')
    const [span] = verifySpans(exporter)
    expect(span?.attributes[ATTR.outcome]).toBe('error')
    expect(span?.status.code).toBe(SpanStatusCode.ERROR)
    const storeSpan = exporter.getFinishedSpans().find((s) => s.name === 'keyward.store findById')
    expect(storeSpan?.status.code).toBe(SpanStatusCode.ERROR)
    const durations = (await metric('keyward.store.duration')) as HistogramMetricData
    const failed = durations.dataPoints.find((p) => p.attributes[ATTR.operation] === 'findById' && p.attributes[ATTR.result] === 'error')
    expect(failed?.value.count).toBe(1)
  })

  it('counts verifications by outcome and code, without key ids, and times them', async () => {
    const { kw, key, info, metric } = await setup()
    for (let i = 0; i < 3; i++) await kw.verify({ headers: { authorization: `Bearer ${key}` } })
    await kw.verify({ headers: {} })
    await kw.verify({ headers: { authorization: `Bearer ${generateKey('bsk', 'live').key}` }, ip: '203.0.113.3' })
    const counts = (await metric('keyward.verify.count')) as SumMetricData
    const byOutcome = Object.fromEntries(
      counts.dataPoints.map((p) => [`${p.attributes[ATTR.outcome]}/${p.attributes[ATTR.code] ?? ''}`, p.value]),
    )
    expect(byOutcome).toEqual({ 'success/': 3, 'refused/missing_credentials': 1, 'refused/invalid_token': 1 })
    expect(JSON.stringify(counts.dataPoints)).not.toContain(info.id)
    const durations = (await metric('keyward.verify.duration')) as HistogramMetricData
    expect(durations.descriptor.unit).toBe('s')
    expect(durations.dataPoints.reduce((n, p) => n + p.value.count, 0)).toBe(5)
  })

  it('times the limiter and the store per operation', async () => {
    const { kw, key, metric } = await setup()
    await kw.verify({ headers: { authorization: `Bearer ${key}` } })
    const limiter = (await metric('keyward.limiter.duration')) as HistogramMetricData
    const ops = limiter.dataPoints.map((p) => p.attributes[ATTR.operation])
    expect(ops.some((op) => op === 'limit' || op === 'limitSync')).toBe(true)
    const store = (await metric('keyward.store.duration')) as HistogramMetricData
    expect(store.dataPoints.map((p) => p.attributes[ATTR.operation])).toEqual(expect.arrayContaining(['insert', 'findById']))
  })

  it('the wrappers keep the backend as it is: class, private fields, optional methods', async () => {
    const limiter = new MemoryRateLimiter()
    const wrapped = instrumentLimiter(limiter)
    expect(wrapped instanceof MemoryRateLimiter).toBe(true)
    const rules = [{ limit: 1, windowMs: 60_000 }]
    expect((await wrapped.limit({ key: 'k', rules, now: 0 })).allowed).toBe(true)
    expect((await limiter.limit({ key: 'k', rules, now: 0 })).allowed).toBe(false)
    const bare: TokenStore = {
      findById: async () => null,
      insert: async () => true,
      update: async () => null,
      listByOrg: async () => [],
      touch: async () => {},
    }
    const store = instrumentStore(bare)
    expect('subscribe' in store && typeof (store as { subscribe?: unknown }).subscribe).toBe(false)
    expect(await store.findById('x')).toBeNull()
  })

  it('getters of the backend read its own private fields (RedisRateLimiter.sharedQuotas), wrapped or wrapped again', () => {
    // The wrapper's prototype is the backend: a getter reached through it ran with the wrapper as
    // `this`, and a getter reading a private field threw ("Cannot read private member").
    const client = new Redis({ lazyConnect: true })
    const redis = new RedisRateLimiter({ client })
    const single = instrumentLimiter(redis)
    expect(single.sharedQuotas).toBe(true)
    expect(single.credits).toBe(true)
    const onCluster = instrumentLimiter(new RedisRateLimiter({ client, cluster: true }))
    expect(onCluster.sharedQuotas).toBe(false)
    // withFailurePolicy reads them when it is built; createKeyward when sharedQuotas are configured.
    const policy = withFailurePolicy(single, { quota: 'open' })
    expect(policy.sharedQuotas).toBe(true)
    expect(() =>
      createKeyward({ prefix: 'bsk', limiter: single, sharedQuotas: [{ name: 'org', by: 'org', rules: { limit: 10, windowMs: 1000 } }] }),
    ).not.toThrow()
    expect(instrumentLimiter(instrumentLimiter(redis)).sharedQuotas).toBe(true)
    client.disconnect()
  })

  it('setters and symbol-keyed methods of the backend run on the backend too', async () => {
    class Backend extends MemoryRateLimiter {
      #handler: string | undefined
      #disposed = false
      get handler(): string | undefined {
        return this.#handler
      }
      set handler(value: string | undefined) {
        this.#handler = value
      }
      async [Symbol.asyncDispose](): Promise<void> {
        this.#disposed = true
      }
      get disposed(): boolean {
        return this.#disposed
      }
    }
    const backend = new Backend()
    const wrapped = instrumentLimiter(backend)
    wrapped.handler = 'set through the wrapper'
    expect(backend.handler).toBe('set through the wrapper')
    expect(wrapped.handler).toBe('set through the wrapper')
    await wrapped[Symbol.asyncDispose]()
    expect(backend.disposed).toBe(true)
  })

  it('nothing outside keyward/otel imports @opentelemetry: the core runs without it installed', () => {
    const src = fileURLToPath(new URL('../../src/', import.meta.url))
    const offenders = readdirSync(src, { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts') && file !== 'otel.ts' && !file.startsWith(`telemetry${sep}`))
      .filter((file) => readFileSync(join(src, file), 'utf8').includes('@opentelemetry'))
    expect(offenders).toEqual([])
    // The check sees the files that do import it.
    expect(readFileSync(join(src, 'telemetry', 'instrument-keyward.ts'), 'utf8')).toContain('@opentelemetry/api')
  })

  it('checks its options', () => {
    const kw = createKeyward({ prefix: 'bsk' })
    expect(() => instrumentKeyward(kw, { tracer: {} as never })).toThrow(/tracer/)
    expect(() => instrumentKeyward(kw, { keyid: false } as never)).toThrow(/keyid/)
    expect(() => instrumentStore(new MemoryTokenStore(), { meter: 1 as never })).toThrow(/meter/)
  })
})
