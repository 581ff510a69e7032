/**
 * A small, dependency-free timing loop: each case runs in rounds of a fixed duration and the
 * median round is reported, which shrugs off a GC pause or a noisy neighbour in one round.
 * BENCH_SMOKE=1 runs a few hundred iterations only, to prove the benchmarks still run (CI).
 */
export const smoke = process.env.BENCH_SMOKE === '1'

export interface Result {
  name: string
  opsPerSec: number
  nsPerOp: number
}

export async function measure(name: string, fn: () => unknown, { roundMs = 400, rounds = 7 } = {}): Promise<Result> {
  if (smoke) {
    for (let i = 0; i < 300; i++) await fn()
    return { name, opsPerSec: NaN, nsPerOp: NaN }
  }
  const isAsync = fn() instanceof Promise
  // Warm-up so the JIT has settled before anything is timed.
  const warmEnd = performance.now() + roundMs
  while (performance.now() < warmEnd) {
    for (let i = 0; i < 256; i++) {
      if (isAsync) await fn()
      else fn()
    }
  }
  const perRound: number[] = []
  for (let r = 0; r < rounds; r++) {
    let ops = 0
    const start = performance.now()
    const end = start + roundMs
    let now = start
    while (now < end) {
      if (isAsync) for (let i = 0; i < 256; i++) await fn()
      else for (let i = 0; i < 256; i++) fn()
      ops += 256
      now = performance.now()
    }
    perRound.push(ops / ((now - start) / 1000))
  }
  perRound.sort((a, b) => a - b)
  const opsPerSec = perRound[Math.floor(perRound.length / 2)]!
  return { name, opsPerSec, nsPerOp: 1e9 / opsPerSec }
}

export function table(results: Result[]): string {
  const fmt = (n: number) => (Number.isNaN(n) ? 'smoke' : Math.round(n).toLocaleString('en-US'))
  const lines = ['| case | ops/s | ns/op |', '|---|---:|---:|']
  for (const r of results) lines.push(`| ${r.name} | ${fmt(r.opsPerSec)} | ${fmt(r.nsPerOp)} |`)
  return lines.join('\n')
}
