/**
 * keyward/otel: what verify() costs with telemetry off (the default: nothing wrapped), wrapped but
 * with no OpenTelemetry SDK registered (the API's no-op tracer and meter), and wrapped with an SDK
 * recording spans and metrics in memory. Interleaved: each case is measured in turn, three passes,
 * best pass kept, so a noisy neighbour slows every case alike.
 * Run alone: `npx tsx bench/otel.bench.ts` (BENCH_SMOKE=1 for a quick run).
 */
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { createKeyward, MemoryRateLimiter, MemoryTokenStore } from '../src/index.js'
import { instrumentKeyward, instrumentLimiter, instrumentStore } from '../src/otel.js'
import { emit, measure, opsRow, smoke, type Result, type Target } from './harness.js'

class DroppingReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

const store = new MemoryTokenStore()
const options = { prefix: 'bsk', usageFlushMs: false as const }
const plain = createKeyward({ ...options, store })
const { key } = await plain.keys.create({ name: 'bench', orgId: 'org_1', projects: ['p'], scopes: ['write'] })
const valid = { headers: { authorization: `Bearer ${key}` }, ip: '203.0.113.10' }

// No SDK registered: the global API hands out no-op tracers and meters.
const noop = instrumentKeyward(
  createKeyward({ ...options, store: instrumentStore(store), limiter: instrumentLimiter(new MemoryRateLimiter()) }),
)
// An SDK that records every span (then drops it: the exporter is reset each pass) and aggregates metrics.
const exporter = new InMemorySpanExporter()
const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).getTracer('bench')
const meter = new MeterProvider({ readers: [new DroppingReader()] }).getMeter('bench')
const sdk = instrumentKeyward(
  createKeyward({ ...options, store: instrumentStore(store, { meter }), limiter: instrumentLimiter(new MemoryRateLimiter(), { meter }) }),
  { tracer, meter },
)
for (const kw of [plain, noop, sdk]) if (!(await kw.verify(valid)).ok) throw new Error('bench setup')

const cases: [string, () => unknown][] = [
  ['verify(): telemetry off (not wrapped; baseline)', () => plain.verify(valid)],
  ['verify(): wrapped, no SDK registered (no-op API)', () => noop.verify(valid)],
  ['verify(): wrapped, SDK recording spans and metrics', () => sdk.verify(valid)],
]
const best = new Map<string, Result>()
for (let pass = 0; pass < (smoke ? 1 : 3); pass++) {
  for (const [name, fn] of cases) {
    const r = await measure(name, fn, { rounds: 5 })
    exporter.reset()
    // Smoke runs measure NaN: the first result stands.
    const previous = best.get(name)
    if (previous === undefined || previous.opsPerSec < r.opsPerSec) best.set(name, r)
  }
}
const results = cases.map(([name]) => best.get(name)!)
const [base, wrappedNoop] = [results[0]!.opsPerSec, results[1]!.opsPerSec]
const targets: Target[] = smoke
  ? []
  : [
      {
        name: 'wrapped without an SDK within 10 % of the baseline',
        met: wrappedNoop >= 0.9 * base,
        detail: `${((wrappedNoop / base) * 100).toFixed(1)}% of the baseline`,
      },
    ]

emit({
  id: 'otel',
  title: 'OpenTelemetry (keyward/otel)',
  order: 15,
  note:
    'A cached valid key, in-memory store and limiter. "Off" is createKeyward() as it is (not enabled = ' +
    'not wrapped: no line of keyward/otel runs, and only keyward/otel imports @opentelemetry/api); the wrapped ' +
    'instances add instrumentKeyward() and the store and limiter wrappers. Best of three interleaved passes.',
  tables: [
    {
      title: 'verify() with and without telemetry',
      unit: 'ops/s',
      reference: cases[0]![0],
      columns: ['ns/op'],
      rows: results.map((r) => opsRow(r)),
    },
  ],
  targets,
})
