/**
 * Each guard's own time per request, inside the same servers bench/http.bench.ts loads: the time
 * from the framework's call into the guard to the guard's hand-on (`next()`, `done()`), timed in
 * the server process (bench/guard-timer.ts), the median request of each 2 s load. This is the
 * profile behind the HTTP targets: it says what keyward's own work costs beside the hand-written
 * floor's, apart from the framework, the kernel and the load generator, which move a whole
 * server's CPU per request by more from one round to the next than the 5% the targets judge.
 *
 * From the two own times and the floor's whole server CPU per request (measured in the same
 * loads), "implied keyward ÷ floor" is what the HTTP target would read if the guards' own times
 * were the only difference between the two servers: floor CPU ÷ (floor CPU + keyward's own time −
 * the floor's own time).
 *
 * Run alone: `npx tsx bench/http-guard-time.bench.ts`; BENCH_HTTP_FRAMEWORKS as in http.bench.ts.
 */
import { emit, median, smoke, type Row, type Table } from './harness.js'
import { FRAMEWORKS, load, SETTLE_SECONDS, startFramework, type Framework } from './http-load.js'
import type { GuardTime } from './guard-timer.js'

const SECONDS = 2
// Its own count: the HTTP table's rounds do not make this diagnostic longer.
const ROUNDS = Number(process.env.BENCH_GUARD_ROUNDS ?? 5)
const GUARDS = ['keyward', 'floor', 'keyward-unlimited', 'floor-unlimited'] as const
const LABEL: Record<(typeof GUARDS)[number], string> = {
  keyward: 'keyward authenticate(), rate-limited key',
  floor: 'floor by hand, rate-limited key',
  'keyward-unlimited': 'keyward authenticate(), key without a rate limit',
  'floor-unlimited': 'floor by hand, hash + Map only',
}
const TITLE: Record<Framework, string> = { express: 'Express', koa: 'Koa', hono: 'Hono', fastify: 'Fastify' }

const frameworks = (process.env.BENCH_HTTP_FRAMEWORKS?.split(',') ?? FRAMEWORKS) as readonly Framework[]
for (const f of frameworks) if (!FRAMEWORKS.includes(f)) throw new Error(`BENCH_HTTP_FRAMEWORKS: unknown framework ${f}`)
const processes = await Promise.all(frameworks.map((f) => startFramework(f, GUARDS, { timeGuards: true })))

/** The server process's guard times since it was last asked. */
function guardTimes(index: number): Promise<Record<string, GuardTime>> {
  const { child } = processes[index]!
  // A server that died would never answer: fail the bench instead of waiting for CI's time-out.
  return new Promise((resolve, reject) => {
    const died = (code: number | null) => reject(new Error(`${frameworks[index]}: server process exited with ${code}`))
    child.once('exit', died)
    child.once('message', (message) => {
      child.off('exit', died)
      resolve(message as Record<string, GuardTime>)
    })
    child.send('guard-times')
  })
}

interface Sample {
  ownUs: number
  cpuUs: number
}
const cases = frameworks.flatMap((framework, index) => GUARDS.map((guard) => ({ framework, index, guard })))
const samples = cases.map(() => [] as Sample[])
try {
  const run = smoke ? { amount: 300 } : { duration: SECONDS }
  // Warm-up: JIT and connection set-up, not counted.
  if (!smoke) for (const c of cases) await load(processes[c.index]!.servers.get(c.guard)!, c.guard, { duration: 1 })
  for (const [index] of frameworks.entries()) await guardTimes(index)
  for (let round = 0; round < (smoke ? 1 : ROUNDS); round++) {
    for (let k = 0; k < cases.length; k++) {
      const i = (k + round) % cases.length
      const c = cases[i]!
      // Unmeasured, first (see SETTLE_SECONDS); its requests' times are dropped with the take() below.
      if (!smoke) {
        await load(processes[c.index]!.servers.get(c.guard)!, `${c.framework} ${c.guard}`, { duration: SETTLE_SECONDS })
        await guardTimes(c.index)
      }
      const measured = await load(processes[c.index]!.servers.get(c.guard)!, `${c.framework} ${c.guard}`, run)
      const own = (await guardTimes(c.index))[c.guard]
      if (own === undefined || own.requests === 0) throw new Error(`${c.framework} ${c.guard}: no request was timed`)
      if (own.dropped > 0) throw new Error(`${c.framework} ${c.guard}: ${own.dropped} requests past the timer's buffer`)
      samples[i]!.push({ ownUs: own.medianUs, cpuUs: measured.cpuUsPerRequest })
    }
  }
} finally {
  for (const p of processes) p.child.kill()
}

const tables: Table[] = []
const fmt = (n: number) => n.toFixed(1)
for (const framework of frameworks) {
  const of = (guard: string) => samples[cases.findIndex((c) => c.framework === framework && c.guard === guard)]!
  const rows: Row[] = GUARDS.map((guard) => ({
    name: `${TITLE[framework]}: ${LABEL[guard]}`,
    value: smoke ? NaN : median(of(guard).map((s) => s.ownUs)),
    extra: {
      'rounds (µs)': smoke
        ? 'smoke'
        : of(guard)
            .map((s) => fmt(s.ownUs))
            .join(' / '),
      'server CPU µs/request': smoke ? NaN : median(of(guard).map((s) => s.cpuUs)),
    },
  }))
  // What the HTTP target would read if the guards' own times were all that differed between the
  // two servers: a diagnostic, not a verdict (see the note on async guards below).
  // Paired by round, as the HTTP targets are (the two ran seconds apart): keyward's own time less
  // the floor's, and the ratio that difference alone would give against the floor's server CPU.
  const implied = (ours: string, floor: string) => {
    const extra = median(of(ours).map((s, r) => s.ownUs - of(floor)[r]!.ownUs))
    const ratio = median(of(ours).map((s, r) => of(floor)[r]!.cpuUs / (of(floor)[r]!.cpuUs + s.ownUs - of(floor)[r]!.ownUs)))
    return `${extra >= 0 ? '+' : ''}${fmt(extra)} µs, ${ratio.toFixed(3)}×`
  }
  tables.push({
    title: `${TITLE[framework]}: the guard's own time per request, in the server under load`,
    unit: 'µs/request',
    higherIsBetter: false,
    reference: rows[1]!.name,
    columns: ['rounds (µs)', 'server CPU µs/request'],
    rows,
    note: smoke
      ? undefined
      : `keyward's own time less the floor's, and what that alone would make of keyward ÷ floor against the floor's ` +
        `server CPU per request (medians of the rounds, each round's two loads paired): rate-limited key ${implied('keyward', 'floor')}; ` +
        `key without a rate limit ${implied('keyward-unlimited', 'floor-unlimited')}.`,
  })
}

emit({
  id: 'http-guard-time',
  title: "HTTP: each guard's own time in the server",
  order: 31,
  note:
    'The servers of the HTTP table, loaded the same way (autocannon, 50 connections, 2 s per case after a 1 s warm-up, ' +
    `${ROUNDS} rounds, the order rotating, each measured load right after an unmeasured ${SETTLE_SECONDS} s one), ` +
    'each guard wrapped so that the server process times it from the ' +
    "framework's call to the guard's next()/done() (performance.now(), every request kept, the median request of " +
    'each load, then the median over rounds; bench/guard-timer.ts). The timing wrapper costs the same for every ' +
    "guard. Not in a guard's own time: what the framework does for it later (writing the headers it set, " +
    "collecting its garbage), nor keyward's own work after next() (Hono's adapter checks the handler's Response for " +
    'the RateLimit headers, rate-limited key only). For a cached key keyward ' +
    'calls next()/done() in the same turn as the floors do, in every framework. A diagnostic beside the HTTP ' +
    'targets (bench/NOTES.md), which are judged on whole ' +
    'servers in the HTTP table.',
  tables,
  targets: [],
})
