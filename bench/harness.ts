/**
 * What every benchmark shares: a dependency-free timing loop, the machine line, and the result
 * format `npm run bench` (bench/run.ts) collects into BENCHMARKS.md and bench/results.json.
 *
 * A bench file is any `bench/*.bench.ts`. It measures, builds one {@link Suite} and calls
 * {@link emit} once at the end. Run alone (`npx tsx bench/x.bench.ts`) it prints its tables; under
 * the runner, `emit` also writes the suite as JSON to the file named by `BENCH_RESULT_FILE`.
 * BENCH_SMOKE=1 runs a few hundred iterations per case only, to prove the benchmarks still run
 * (CI): figures are then NaN and nothing is kept.
 */
import { writeFileSync } from 'node:fs'
import { cpus } from 'node:os'

export const smoke = process.env.BENCH_SMOKE === '1'

/** One timed case. */
export interface Result {
  name: string
  opsPerSec: number
  nsPerOp: number
  /** Ops per second of each measured round, in the order run (none in smoke runs). */
  perRound?: number[]
}

/** One line of a table: `value` in the table's unit (NaN in smoke runs). */
export interface Row {
  name: string
  value: number
  /** Further columns, by the names in {@link Table.columns}. */
  extra?: Record<string, string | number>
}

/** A comparison: keyward and its peers, measured in the same process or the same run. */
export interface Table {
  title: string
  /** What `value` counts: 'ops/s', 'req/s', 'checks/s', 'bytes/key'... */
  unit: string
  /** False when less is better (bytes). Default true. */
  higherIsBetter?: boolean
  /** Name of the row every ratio is taken against (value ÷ reference value). */
  reference?: string
  /** Names of the extra columns, in order. */
  columns?: string[]
  /** Shown under the table: what was measured and how. */
  note?: string
  rows: Row[]
}

/** A stated target and whether this run met it (undefined in smoke runs: nothing was measured). */
export interface Target {
  name: string
  met: boolean | undefined
  /** The figures behind the verdict, e.g. '93.1% of bare (target ≥ 90%)'. */
  detail: string
  /**
   * For a verdict on paired rounds: each pair's round-by-round ratios ({@link pairedRatios}), kept
   * in bench/results.json so that the median the verdict took can be checked and its spread seen.
   */
  ratios?: Record<string, number[]>
}

/** What one bench file produces. `order` places it in BENCHMARKS.md (lowest first). */
export interface Suite {
  id: string
  title: string
  order: number
  /** Shown under the title. */
  note?: string
  /** Set by `npm run bench -- --merge`: when this suite was measured, if not in the header's run. */
  run?: string
  tables: Table[]
  targets?: Target[]
}

export interface MeasureOptions {
  roundMs?: number
  rounds?: number
  /**
   * 'cpu' (default): ops per second of this process's CPU time (process.cpuUsage, all threads),
   * which leaves out the time other processes hold the cores on a shared machine; on an idle
   * machine it is close to wall-clock ops/s. 'wall' for work done outside this process (Redis).
   */
  clock?: 'cpu' | 'wall'
}

function cpuSeconds(): number {
  const { user, system } = process.cpuUsage()
  return (user + system) / 1e6
}

/** How one case runs: async or not, and how many calls between two clock reads. */
interface Warmed {
  isAsync: boolean
  batch: number
}

// A warm-up round, which also sizes the batch: calls run in batches between clock reads, each
// about a millisecond long, so that a slow case (100 Redis calls per fn) still ends its round on time.
async function warmUp(fn: () => unknown, roundMs: number): Promise<Warmed> {
  const first = fn()
  const isAsync = first instanceof Promise
  if (isAsync) await first
  let batch = 1
  const warmEnd = performance.now() + roundMs
  while (performance.now() < warmEnd) {
    const t0 = performance.now()
    for (let i = 0; i < batch; i++) {
      if (isAsync) await fn()
      else fn()
    }
    if (performance.now() - t0 < 1 && batch < 256) batch *= 2
  }
  return { isAsync, batch }
}

// One round: calls for `roundMs` of wall clock, counted per second of the chosen clock.
async function round(fn: () => unknown, { isAsync, batch }: Warmed, roundMs: number, clock: 'cpu' | 'wall'): Promise<number> {
  let ops = 0
  const start = performance.now()
  const cpuStart = cpuSeconds()
  const end = start + roundMs
  let now = start
  while (now < end) {
    if (isAsync) for (let i = 0; i < batch; i++) await fn()
    else for (let i = 0; i < batch; i++) fn()
    ops += batch
    now = performance.now()
  }
  return ops / (clock === 'cpu' ? cpuSeconds() - cpuStart : (now - start) / 1000)
}

/**
 * Calls `fn` in rounds of `roundMs` (wall clock) after a warm-up round and returns the median
 * round, which shrugs off a GC pause or a noisy neighbour in one round. See
 * {@link MeasureOptions.clock} for what a second is. `fn` may return a promise (awaited).
 */
export async function measure(
  name: string,
  fn: () => unknown,
  { roundMs = 300, rounds = 7, clock = 'cpu' }: MeasureOptions = {},
): Promise<Result> {
  if (smoke) {
    for (let i = 0; i < 300; i++) await fn()
    return { name, opsPerSec: NaN, nsPerOp: NaN }
  }
  const warmed = await warmUp(fn, roundMs)
  const perRound: number[] = []
  for (let r = 0; r < rounds; r++) perRound.push(await round(fn, warmed, roundMs, clock))
  const opsPerSec = median(perRound)
  return { name, opsPerSec, nsPerOp: 1e9 / opsPerSec, perRound }
}

/** One case of {@link measureInterleaved}. */
export interface Case {
  name: string
  fn: () => unknown
  /** Run before each measured round of this case, outside its timing (e.g. reading a server's counters). */
  before?: () => unknown
  /** Run after each measured round of this case, outside its timing. */
  after?: () => unknown
}

/**
 * Measures several cases round by round, interleaved: every case runs one round, in an order that
 * rotates, before any runs its next. A slow stretch of the machine (another process, a frequency
 * change) then lands on every case alike instead of on whichever ran then, and the rounds of two
 * cases taken side by side can be compared pairwise ({@link pairedRatio}). Each case: a warm-up
 * round first, then `rounds` rounds; its median round is its figure.
 *
 * @example
 * ```ts
 * const [ours, theirs] = await measureInterleaved([
 *   { name: 'keyward', fn: () => kw.verify(input) },
 *   { name: 'jose', fn: () => jwtVerify(token, key, options) },
 * ])
 * console.log(pairedRatio(ours, theirs))
 * ```
 */
export async function measureInterleaved(
  cases: readonly Case[],
  { roundMs = 300, rounds = 9, clock = 'cpu' }: MeasureOptions = {},
): Promise<Result[]> {
  if (smoke) {
    const results: Result[] = []
    for (const c of cases) results.push(await measure(c.name, c.fn))
    return results
  }
  const warmed: Warmed[] = []
  for (const c of cases) warmed.push(await warmUp(c.fn, roundMs))
  const perRound = cases.map(() => [] as number[])
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < cases.length; k++) {
      const i = (k + r) % cases.length
      const c = cases[i]!
      await c.before?.()
      perRound[i]![r] = await round(c.fn, warmed[i]!, roundMs, clock)
      await c.after?.()
    }
  }
  return cases.map((c, i) => {
    const opsPerSec = median(perRound[i]!)
    return { name: c.name, opsPerSec, nsPerOp: 1e9 / opsPerSec, perRound: perRound[i] }
  })
}

/**
 * `a` ÷ `b`, the median of their round-by-round ratios: for two cases measured by one
 * {@link measureInterleaved} call, each round of `a` is set against the round of `b` run beside it.
 * NaN in smoke runs.
 *
 * @example
 * ```ts
 * const speedup = pairedRatio(keywardRow, joseRow) // 0.87: keyward does 87% of jose's verifications per CPU-second
 * ```
 */
export function pairedRatio(a: Result, b: Result): number {
  const ratios = pairedRatios(a, b)
  return ratios.length === 0 ? NaN : median(ratios)
}

/**
 * `a` ÷ `b` round by round, in the order run (empty in smoke runs): what {@link pairedRatio} takes
 * the median of.
 *
 * @example
 * ```ts
 * targets.push({ name, met, detail, ratios: { HS256: pairedRatios(joseRow, keywardRow) } // keyward's time ÷ jose's })
 * ```
 */
export function pairedRatios(a: Result, b: Result): number[] {
  if (a.perRound === undefined || b.perRound === undefined || a.perRound.length !== b.perRound.length) return []
  return a.perRound.map((value, i) => value / b.perRound![i]!)
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** A row of ops/s from a measured result, with ns/op as an extra column. */
export function opsRow(result: Result, extra: Record<string, string | number> = {}): Row {
  return { name: result.name, value: result.opsPerSec, extra: { 'ns/op': result.nsPerOp, ...extra } }
}

/** CPU model, cores, Node version and date: the line every result set carries. */
export function machineLine(): string {
  const cpu = cpus()
  return `${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${cpu.length} cores, Node ${process.version}, ${process.platform}/${process.arch}`
}

export function formatNumber(n: number): string {
  if (typeof n !== 'number') return String(n)
  if (Number.isNaN(n)) return 'smoke'
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString('en-US')
  if (Math.abs(n) >= 10) return n.toFixed(1)
  return n.toFixed(2)
}

export function formatRatio(value: number, reference: number): string {
  if (!Number.isFinite(value) || !Number.isFinite(reference) || reference === 0) return 'smoke'
  return `${(value / reference).toFixed(2)}×`
}

/** One table as Markdown. */
export function markdownTable(t: Table): string {
  const extra = t.columns ?? []
  const ref = t.reference === undefined ? undefined : t.rows.find((r) => r.name === t.reference)
  const head = ['case', t.unit, ...(ref ? [`vs ${ref.name}`] : []), ...extra]
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`]
  for (const r of t.rows) {
    const cells = [r.name, formatNumber(r.value)]
    if (ref) cells.push(formatRatio(r.value, ref.value))
    for (const c of extra) {
      const v = r.extra?.[c]
      cells.push(v === undefined ? '' : typeof v === 'number' ? formatNumber(v) : v)
    }
    lines.push(`| ${cells.join(' | ')} |`)
  }
  return lines.join('\n')
}

/** A suite as Markdown: title, note, then each table with its title and note. */
export function markdownSuite(s: Suite, level = 2): string {
  const h = '#'.repeat(level)
  const parts = [`${h} ${s.title}`]
  if (s.run) parts.push(`*Measured separately from the run named at the top: ${s.run}.*`)
  if (s.note) parts.push(s.note)
  for (const t of s.tables) {
    parts.push(`${h}# ${t.title}`)
    parts.push(markdownTable(t))
    if (t.note) parts.push(t.note)
  }
  return parts.join('\n\n')
}

/**
 * Hands the suite to the runner (JSON to `BENCH_RESULT_FILE`) and prints it as Markdown.
 * Call once, last.
 */
export function emit(suite: Suite): void {
  const out = process.env.BENCH_RESULT_FILE
  if (out) writeFileSync(out, JSON.stringify({ ...suite, machine: machineLine(), smoke }, null, 2))
  console.log(`${machineLine()}${smoke ? ' (smoke run: no figures)' : ''}\n`)
  console.log(markdownSuite(suite))
}

/**
 * The older plain table of measured results (name, ops/s, ns/op), for a bench file that prints
 * its figures instead of emitting a suite; the runner then keeps its output verbatim.
 */
export function table(results: Result[]): string {
  return markdownTable({ title: '', unit: 'ops/s', columns: ['ns/op'], rows: results.map((r) => opsRow(r)) })
}
