/**
 * What the HTTP benches share: the framework server processes (bench/http-server.ts, one per
 * framework, one server per guard), autocannon against one of them, and the server's CPU time
 * read from /proc.
 *
 * @example
 * ```ts
 * const { child, servers } = await startFramework('express', ['bare', 'keyward'])
 * const { cpuUsPerRequest } = await load(servers.get('keyward')!, 'Express: keyward', { duration: 2 })
 * child.kill()
 * ```
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'

/** The frameworks bench/http-server.ts serves. */
export const FRAMEWORKS = ['express', 'koa', 'hono', 'fastify'] as const
/** One of {@link FRAMEWORKS}. */
export type Framework = (typeof FRAMEWORKS)[number]
/** Connections autocannon keeps open. */
export const CONNECTIONS = 50
/**
 * Seconds of unmeasured load on a server right before each measured one. A framework's process sits
 * idle while the other frameworks' cases run, and V8 discards optimised code in that time (its
 * idle-time GCs): the first case of the process to run a code path again would pay for
 * re-optimising it (bench/NOTES.md). This settles every case alike; bench/http.bench.ts also
 * re-warms every server of a process that sat idle before measuring any of them.
 */
export const SETTLE_SECONDS = 0.5

/** One server of a framework process: where it listens and the Authorization value it wants. */
export interface Server {
  pid: number
  url: string
  authorization: string | undefined
}

const serverFile = fileURLToPath(new URL('./http-server.ts', import.meta.url))
/**
 * Starts one process for `framework`, holding one server per guard. With `timeGuards`, each guard
 * is timed (bench/guard-timer.ts) and the process answers the IPC message 'guard-times'.
 */
export function startFramework(
  framework: Framework,
  guards: readonly string[],
  { timeGuards = false }: { timeGuards?: boolean } = {},
): Promise<{ child: ChildProcess; servers: Map<string, Server> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', serverFile, framework, guards.join(',')], {
    stdio: ['ignore', 'pipe', 'inherit', ...(timeGuards ? (['ipc'] as const) : [])],
    env: { ...process.env, BENCH_TIME_GUARDS: timeGuards ? '1' : '' },
  })
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${framework}: server process exited with ${code}`)))
    createInterface({ input: child.stdout! }).once('line', (line) => {
      const ports = JSON.parse(line) as Record<string, { port: number; authorization?: string }>
      const servers = new Map(
        Object.entries(ports).map(([guard, { port, authorization }]) => [
          guard,
          { pid: child.pid!, url: `http://127.0.0.1:${port}/`, authorization },
        ]),
      )
      resolve({ child, servers })
    })
  })
}

/**
 * CPU seconds a process has used, from /proc (Linux; NaN elsewhere). The server's CPU per request
 * is steady where its req/s is not: other processes on the machine take wall time, not CPU time.
 */
export function processCpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    // utime and stime (fields 14 and 15 of the whole line) in clock ticks of 1/100 s.
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return NaN
  }
}

/**
 * The machine's CPU ticks so far, all and stolen (from the first line of /proc/stat; undefined
 * elsewhere). Steal is time the hypervisor gave to other guests. Where the kernel takes it out of a
 * task's run time (CONFIG_PARAVIRT_TIME_ACCOUNTING, not disabled by `no-steal-acc`), it is not
 * counted as a process's CPU time; what other guests do to caches and the TLB still is. A machine
 * that reads 0 here may simply not account steal.
 */
export function machineTicks(): { total: number; steal: number } | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number)
    // user nice system idle iowait irq softirq steal
    return { total: fields.reduce((a, b) => a + b, 0), steal: fields[7]! }
  } catch {
    return undefined
  }
}

/** What one load of a server measured. */
export interface Measured {
  reqPerSec: number
  cpuUsPerRequest: number
}

/** autocannon against `server` for a duration or an amount; every response must be a 200. */
export async function load(
  server: Server,
  label: string,
  run: { amount: number } | { duration: number },
  connections = CONNECTIONS,
): Promise<Measured> {
  const headers: Record<string, string> = server.authorization === undefined ? {} : { authorization: server.authorization }
  const cpuBefore = processCpuSeconds(server.pid)
  const result = await autocannon({ url: server.url, connections, headers, ...run })
  const cpu = processCpuSeconds(server.pid) - cpuBefore
  // A refused or failed request would make a guard look cheap: every response must be a 200.
  if (result.errors > 0 || result.timeouts > 0 || result.non2xx > 0)
    throw new Error(`${label}: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx`)
  return { reqPerSec: result.requests.average, cpuUsPerRequest: (cpu * 1e6) / result.requests.total }
}
