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
import { emit, median, smoke, type Row, type Table, type Target } from './harness.js'
import { FRAMEWORKS, load, startFramework, type Framework } from './http-load.js'
import type { GuardTime } from './guard-timer.js'

const SECONDS = 2
const ROUNDS = Number(process.env.BENCH_HTTP_ROUNDS ?? 5)
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
  return new Promise((resolve) => {
    child.once('message', (message) => resolve(message as Record<string, GuardTime>))
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
      const measured = await load(processes[c.index]!.servers.get(c.guard)!, `${c.framework} ${c.guard}`, run)
      const own = (await guardTimes(c.index))[c.guard]!
      samples[i]!.push({ ownUs: own.medianUs, cpuUs: measured.cpuUsPerRequest })
    }
  }
} finally {
  for (const p of processes) p.child.kill()
}

const tables: Table[] = []
const targets: Target[] = []
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
  tables.push({
    title: `${TITLE[framework]}: the guard's own time per request, in the server under load`,
    unit: 'µs/request',
    higherIsBetter: false,
    reference: rows[1]!.name,
    columns: ['rounds (µs)', 'server CPU µs/request'],
    rows,
  })
  for (const [ours, floor, what] of [
    ['keyward', 'floor', 'rate-limited key'],
    ['keyward-unlimited', 'floor-unlimited', 'key without a rate limit'],
  ] as const) {
    if (smoke) {
      targets.push({ name: `HTTP ${TITLE[framework]}, ${what}: implied by the guards' own times`, met: undefined, detail: 'smoke' })
      continue
    }
    const own = median(of(ours).map((s) => s.ownUs))
    const floorOwn = median(of(floor).map((s) => s.ownUs))
    const floorCpu = median(of(floor).map((s) => s.cpuUs))
    const implied = floorCpu / (floorCpu + own - floorOwn)
    targets.push({
      name: `HTTP ${TITLE[framework]}, ${what}: keyward's own time implies ≥ 0.95× the floor`,
      met: implied >= 0.95,
      detail:
        `${implied.toFixed(3)}×: keyward ${fmt(own)} µs, the floor ${fmt(floorOwn)} µs of its own per request (median ` +
        `requests, median of ${ROUNDS} rounds), against ${fmt(floorCpu)} µs of server CPU per request for the floor; ` +
        `the target allows keyward ${fmt(floorCpu / 0.95 - floorCpu)} µs more than the floor`,
    })
  }
}

emit({
  id: 'http-guard-time',
  title: "HTTP: each guard's own time in the server",
  order: 31,
  note:
    'The servers of the HTTP table, loaded the same way (autocannon, 50 connections, 2 s per case after a 1 s warm-up, ' +
    `${ROUNDS} rounds, the order rotating), each guard wrapped so that the server process times it from the ` +
    "framework's call to the guard's next()/done() (performance.now(), every request kept, the median request of " +
    'each load, then the median over rounds; bench/guard-timer.ts). The timing wrapper costs the same for every ' +
    "guard. A guard's work the framework does for it later (writing the headers it set, collecting its garbage) is " +
    'not in its own time: both rate-limited guards set the same two headers, and bench/NOTES.md has the garbage ' +
    'collections counted.',
  tables,
  targets,
})
