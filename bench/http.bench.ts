/**
 * HTTP overhead: autocannon against hello-world servers on 127.0.0.1, in processes of their own
 * (bench/http-server.ts, one per framework): bare, behind keyward, behind the nearest peer, for
 * Express, Koa, Hono (node-server) and Fastify. All servers start first; then rounds run every case once,
 * framework by framework, each measured load right after a short unmeasured one on the same server.
 * Each keyward row runs right beside the floor it is judged against, which of the two first
 * alternating round by round, and the verdict is the median over rounds of their ratio: a noisy
 * stretch lands on both sides of a ratio, or on one round of it. Wall-clock tables show the best
 * round per case (other load only takes away).
 * Run alone: `npx tsx bench/http.bench.ts` (BENCH_SMOKE=1: 300 requests per case, then three short
 * passes of keyward and the floors per framework, the first not counted, whose ratios are printed,
 * never judged).
 * BENCH_HTTP_FRAMEWORKS=fastify (a comma list) runs only those frameworks, for a quick look at one.
 */
import autocannon from 'autocannon'
import { emit, median, smoke, type Row, type Table, type Target } from './harness.js'
import {
  CONNECTIONS,
  FRAMEWORKS as allFrameworks,
  SETTLE_SECONDS,
  load as loadServer,
  machineTicks,
  startFramework as startProcess,
  type Measured,
} from './http-load.js'

// Overridable for a quick look: BENCH_HTTP_SECONDS=1 BENCH_HTTP_ROUNDS=1 npx tsx bench/http.bench.ts
const SECONDS = Number(process.env.BENCH_HTTP_SECONDS ?? 2)
// 20: on a shared virtual machine one case's CPU per request moves by up to about 3x between rounds, and
// the median of 10 paired ratios still missed a target by that alone once (bench/NOTES.md).
const ROUNDS = Number(process.env.BENCH_HTTP_ROUNDS ?? 20)

interface Case {
  framework: (typeof allFrameworks)[number]
  guard: string
  label: string
}
const allCases: Case[] = [
  { framework: 'express', guard: 'bare', label: 'Express: bare route' },
  { framework: 'express', guard: 'keyward', label: 'Express: keyward authenticate()' },
  { framework: 'express', guard: 'keyward-unlimited', label: 'Express: keyward authenticate(), key without a rate limit' },
  { framework: 'express', guard: 'floor', label: 'Express: floor by hand (SHA-256 + Map, expiry, scope, RateLimit headers)' },
  { framework: 'express', guard: 'floor-unlimited', label: 'Express: floor by hand, hash + Map only' },
  { framework: 'express', guard: 'express-jwt', label: 'Express: express-jwt (HS256)' },
  { framework: 'koa', guard: 'bare', label: 'Koa: bare route' },
  { framework: 'koa', guard: 'keyward', label: 'Koa: keyward authenticate()' },
  { framework: 'koa', guard: 'keyward-unlimited', label: 'Koa: keyward authenticate(), key without a rate limit' },
  { framework: 'koa', guard: 'floor', label: 'Koa: floor by hand (SHA-256 + Map, expiry, scope, RateLimit headers)' },
  { framework: 'koa', guard: 'floor-unlimited', label: 'Koa: floor by hand, hash + Map only' },
  { framework: 'koa', guard: 'koa-jwt', label: 'Koa: koa-jwt (HS256)' },
  { framework: 'hono', guard: 'bare', label: 'Hono: bare route' },
  { framework: 'hono', guard: 'keyward', label: 'Hono: keyward authenticate()' },
  { framework: 'hono', guard: 'keyward-unlimited', label: 'Hono: keyward authenticate(), key without a rate limit' },
  { framework: 'hono', guard: 'floor', label: 'Hono: floor by hand (SHA-256 + Map, expiry, scope, RateLimit headers)' },
  { framework: 'hono', guard: 'floor-unlimited', label: 'Hono: floor by hand, hash + Map only' },
  { framework: 'hono', guard: 'hono-bearer', label: 'Hono: bearerAuth({ verifyToken }), SHA-256 + Map' },
  { framework: 'hono', guard: 'hono-jwt', label: 'Hono: hono/jwt (HS256)' },
  // No JWT peer for Fastify: @fastify/jwt is not a dev dependency.
  { framework: 'fastify', guard: 'bare', label: 'Fastify: bare route' },
  { framework: 'fastify', guard: 'keyward', label: 'Fastify: keyward authenticate()' },
  { framework: 'fastify', guard: 'keyward-unlimited', label: 'Fastify: keyward authenticate(), key without a rate limit' },
  { framework: 'fastify', guard: 'floor', label: 'Fastify: floor by hand (SHA-256 + Map, expiry, scope, RateLimit headers)' },
  { framework: 'fastify', guard: 'floor-unlimited', label: 'Fastify: floor by hand, hash + Map only' },
]
// Overridable for a quick look at one framework: BENCH_HTTP_FRAMEWORKS=fastify npx tsx bench/http.bench.ts
const frameworks = (process.env.BENCH_HTTP_FRAMEWORKS?.split(',') ?? allFrameworks) as ReadonlyArray<Case['framework']>
for (const f of frameworks) if (!allFrameworks.includes(f)) throw new Error(`BENCH_HTTP_FRAMEWORKS: unknown framework ${f}`)
const cases = allCases.filter((c) => frameworks.includes(c.framework))

/** One process per framework, holding one server per guard (bench/http-server.ts). */
const startFramework = (framework: Case['framework']) =>
  startProcess(
    framework,
    cases.filter((c) => c.framework === framework).map((c) => c.guard),
  )

const load = (
  server: Parameters<typeof loadServer>[0],
  label: string,
  run: { amount: number } | { duration: number } = smoke ? { amount: 300 } : { duration: SECONDS },
) => loadServer(server, label, run, smoke && 'amount' in run ? 10 : CONNECTIONS)

const ticksBefore = machineTicks()
const processes = await Promise.all(frameworks.map(startFramework))
const servers = cases.map((c) => processes[frameworks.indexOf(c.framework)]!.servers.get(c.guard)!)
const perCase = cases.map(() => [] as Measured[])
/** Each keyward row and the floor it is judged against: measured one right after the other. */
const PAIRS: ReadonlyArray<readonly [string, string]> = [
  ['keyward', 'floor'],
  ['keyward-unlimited', 'floor-unlimited'],
]
/**
 * The cases of `framework` in the order `round` runs them (indexes into `cases`). A pair's two
 * loads are adjacent, a few seconds apart, so that whatever slows the machine for longer than that
 * lands on both sides of its ratio; which of the two goes first alternates round by round (A B, then
 * B A), and the pairs and the other cases (bare route, peers) rotate through the block every two
 * rounds.
 */
function roundOrder(framework: Case['framework'], round: number): number[] {
  const own = [...cases.keys()].filter((i) => cases[i]!.framework === framework)
  const at = (guard: string) => own.find((i) => cases[i]!.guard === guard)!
  const paired = new Set(PAIRS.flat())
  const units: number[][] = [
    ...PAIRS.map(([ours, floor]) => (round % 2 === 0 ? [at(ours), at(floor)] : [at(floor), at(ours)])),
    ...own.filter((i) => !paired.has(cases[i]!.guard)).map((i) => [i]),
  ]
  const shift = Math.floor(round / 2) % units.length
  return [...units.slice(shift), ...units.slice(0, shift)].flat()
}
// The smoke run's regression guard (CI): keyward beside the floors, a short measured pass, printed.
const RATIO_GUARDS = ['floor', 'keyward', 'floor-unlimited', 'keyward-unlimited']
// The first round warms the JIT up (300 requests per case did not) and is not counted.
const RATIO_ROUNDS = 3
const smokeCpu = new Map<number, number[]>()
try {
  // Warm-up: JIT and connection set-up, not counted.
  if (!smoke)
    for (const [i, s] of servers.entries())
      await autocannon({
        url: s.url,
        connections: CONNECTIONS,
        duration: 1,
        headers: s.authorization ? { authorization: s.authorization } : {},
      }).then(() => i)
  const rounds = smoke ? 1 : ROUNDS
  for (let round = 0; round < rounds; round++) {
    // Frameworks one after another, the first one changing each round.
    for (let f = 0; f < frameworks.length; f++) {
      const framework = frameworks[(f + round) % frameworks.length]!
      // The process sat idle while other frameworks ran and lost optimised code (SETTLE_SECONDS):
      // every one of its servers is warmed again before any is measured, so the first case to run
      // keyward's pipeline after the pause does not pay for re-optimising it.
      if (!smoke)
        for (const [j, c] of cases.entries()) if (c.framework === framework) await load(servers[j]!, c.label, { duration: SETTLE_SECONDS })
      for (const i of roundOrder(framework, round)) {
        // Unmeasured, first: see SETTLE_SECONDS.
        if (!smoke) await load(servers[i]!, cases[i]!.label, { duration: SETTLE_SECONDS })
        perCase[i]!.push(await load(servers[i]!, cases[i]!.label))
      }
    }
  }
  if (smoke) {
    const picked = [...cases.keys()].filter((i) => RATIO_GUARDS.includes(cases[i]!.guard))
    for (let round = 0; round < RATIO_ROUNDS; round++)
      for (const i of picked) {
        const { cpuUsPerRequest } = await load(servers[i]!, cases[i]!.label, { duration: 1 })
        if (round > 0) smokeCpu.set(i, [...(smokeCpu.get(i) ?? []), cpuUsPerRequest])
      }
  }
} finally {
  for (const p of processes) p.child.kill()
}
const ticksAfter = machineTicks()

// The best round: load from other processes only ever takes throughput away. The server's CPU
// per request: the median round.
const reqPerSec = perCase.map((values) => (smoke ? NaN : Math.max(...values.map((v) => v.reqPerSec))))
const cpuPerRequest = perCase.map((values) => (smoke ? NaN : median(values.map((v) => v.cpuUsPerRequest))))
const fmt = (n: number) => Math.round(n).toLocaleString('en-US')
const pct = (a: number, b: number) => `${((a / b) * 100).toFixed(1)}%`
const tables: Table[] = []
const targets: Target[] = []
for (const framework of frameworks) {
  const rows: Row[] = []
  const cpuRows: Row[] = []
  for (const [i, c] of cases.entries()) {
    if (c.framework !== framework) continue
    rows.push({
      name: c.label,
      value: reqPerSec[i]!,
      extra: { 'rounds (req/s)': smoke ? 'smoke' : perCase[i]!.map((v) => fmt(v.reqPerSec)).join(' / ') },
    })
    // Requests per second of server CPU: what one core given to the server alone would serve.
    // Every round beside the median, in the order run: a row that drifts as the run goes on shows here.
    cpuRows.push({
      name: c.label,
      value: 1e6 / cpuPerRequest[i]!,
      extra: {
        'server CPU µs/request': cpuPerRequest[i]!,
        'rounds (µs/request)': smoke ? 'smoke' : perCase[i]!.map((v) => v.cpuUsPerRequest.toFixed(0)).join(' / '),
      },
    })
  }
  const title = rows[0]!.name.split(':')[0]!
  tables.push({
    title: `${title}: requests per second (wall clock)`,
    unit: 'req/s',
    reference: rows[0]!.name,
    columns: ['rounds (req/s)'],
    rows,
  })
  tables.push({
    title: `${title}: requests per second of server CPU`,
    unit: 'req/CPU-s',
    reference: cpuRows[0]!.name,
    columns: ['server CPU µs/request', 'rounds (µs/request)'],
    rows: cpuRows,
  })
  const cpu = (guard: string) => cpuRows[cases.filter((c) => c.framework === framework).findIndex((c) => c.guard === guard)]!.value
  const [bareCpu, oursCpu, unlimitedCpu, floorCpu, floorUnlimitedCpu] = [
    'bare',
    'keyward',
    'keyward-unlimited',
    'floor',
    'floor-unlimited',
  ].map(cpu)
  // The verdicts: keyward ÷ floor round by round (measured one right after the other: roundOrder),
  // then the median, so that a slow stretch of the machine lands on both sides of each ratio.
  const rounds = (guard: string) => perCase[cases.findIndex((c) => c.framework === framework && c.guard === guard)]!
  const paired = (ours: string, floor: string) =>
    median(rounds(ours).map((measured, r) => rounds(floor)[r]!.cpuUsPerRequest / measured.cpuUsPerRequest))
  const [limitedRatio, unlimitedRatio] = smoke ? [NaN, NaN] : [paired('keyward', 'floor'), paired('keyward-unlimited', 'floor-unlimited')]
  const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`
  targets.push({
    name: `HTTP ${title}: keyward keeps ≥ 0.95× what the floor keeps (rate-limited key)`,
    met: smoke ? undefined : limitedRatio >= 0.95,
    detail: smoke
      ? 'smoke'
      : `${limitedRatio.toFixed(2)}× the floor per CPU-second of the server (median of ${ROUNDS} paired rounds; ` +
        `median rounds ${fmt(oursCpu!)} vs ${fmt(floorCpu!)}); ` +
        `keyward keeps ${pct(oursCpu!, bareCpu!)} of the bare route, the floor ${pct(floorCpu!, bareCpu!)}`,
  })
  targets.push({
    name: `HTTP ${title}: a key without a rate limit keeps ≥ 0.95× what a hash + Map middleware keeps`,
    met: smoke ? undefined : unlimitedRatio >= 0.95,
    detail: smoke
      ? 'smoke'
      : `${unlimitedRatio.toFixed(2)}× (paired rounds; median rounds ${fmt(unlimitedCpu!)} vs ${fmt(floorUnlimitedCpu!)}); ` +
        (framework === 'hono' ? `Hono's bearerAuth with the same hash: ${ratio(unlimitedCpu!, cpu('hono-bearer'))}; ` : '') +
        `of the bare route: ${pct(unlimitedCpu!, bareCpu!)} and ${pct(floorUnlimitedCpu!, bareCpu!)}`,
  })
}

/** How much of the machine's CPU time the hypervisor took while this bench ran (/proc/stat). */
function stealLine(): string {
  if (ticksBefore === undefined || ticksAfter === undefined) return 'Steal time: not readable here.'
  const steal = ticksAfter.steal - ticksBefore.steal
  const share = ((steal / (ticksAfter.total - ticksBefore.total)) * 100).toFixed(1)
  return steal === 0
    ? 'Steal time read 0 over the run (the machine may not account it).'
    : `Steal time over the run: ${share}% of the machine's CPU time (/proc/stat; where the kernel takes stolen time out of ` +
        "a task's run time, CONFIG_PARAVIRT_TIME_ACCOUNTING, it is not counted as the server's CPU, though its effect on caches is)."
}

emit({
  id: 'http',
  title: 'HTTP overhead (autocannon, 127.0.0.1)',
  order: 30,
  note:
    `autocannon, ${CONNECTIONS} connections, ${SECONDS} s per case after a 1 s warm-up, ${ROUNDS} ` +
    'rounds; each round runs the frameworks one after another (the first changing each round), every server of ' +
    "a framework's process first warmed again after its idle wait, then each case's measured load right after an " +
    `unmeasured ${SETTLE_SECONDS} s one on the same server (what the previous case or the idle wait left in that ` +
    'process is not measured). Each keyward row runs right beside its floor, which of the two first alternating ' +
    'round by round (A B, then B A), and the pairs, the bare route and the peers rotate through the block every two rounds; ' +
    'the best round is shown (load from other processes ' +
    'only takes throughput away), all rounds beside it. Wall-clock req/s on a shared machine mostly ' +
    'measure the other processes, so each framework has a second table: requests per second of the ' +
    `server process's CPU time (from /proc, the median round), which is what a core given to the ` +
    'server alone would serve; the targets are judged on that one, as the median over rounds of ' +
    'keyward ÷ floor of the pair measured one after the other (a slow stretch of the machine lands on both ' +
    'sides of a ratio). The servers of each framework run ' +
    'in a process of their own (one server under load at a time); the load generator shares the ' +
    `machine's cores with it, identically for every case. The route answers "hello"; keyward checks ` +
    'a valid key (cached after the first request) with the in-memory store and limiter, lockout on ' +
    'and a per-key rate limit no run reaches (so RateLimit headers are added to every response); the ' +
    '"without a rate limit" row is the same with a key that has none (no limiter call for the quota, ' +
    'no headers). The floors are written by hand for each framework (bench/http-server.ts): SHA-256 ' +
    '(@noble/hashes) + Map lookup, expiry and scope checked, the call counted and the two RateLimit ' +
    'headers set; "hash + Map only" for the key without a rate limit. Fastify runs every guard as a ' +
    "route onRequest hook, keyward's from keyward/fastify with its plugin registered, the floor a " +
    'callback-style hook (no promise). The JWT peers check an HS256 token (Fastify has none: @fastify/jwt ' +
    'is not a dev dependency); bearerAuth checks the key by SHA-256 + Map ' +
    'lookup. Every response is checked to be a 200. ' +
    stealLine(),
  tables,
  targets,
})

if (smoke) {
  // Indicative only: 1 s per case on a shared machine. Printed so that a regression shows in CI's
  // log; the verdicts come from a full run (BENCHMARKS.md).
  const best = (framework: string, guard: string) =>
    Math.min(...smokeCpu.get(cases.findIndex((c) => c.framework === framework && c.guard === guard))!)
  const parts = frameworks.map((f) => {
    const ratio = (ours: string, floor: string) => (best(f, floor) / best(f, ours)).toFixed(2)
    return `${f} ${ratio('keyward', 'floor')}× (no rate limit ${ratio('keyward-unlimited', 'floor-unlimited')}×)`
  })
  console.log(
    `\nHTTP, keyward ÷ floor per server CPU-second (smoke: best of ${RATIO_ROUNDS - 1} × 1 s per case after a warm-up ` +
      `round, indicative; target ≥ 0.95×): ${parts.join('; ')}`,
  )
}
