/**
 * What one rate-limit check costs, in instructions rather than wall clock (which a loaded machine
 * spoils): keyward's RedisRateLimiter (one GCRA rule, one fixed-window rule) against
 * rate-limiter-flexible's RateLimiterRedis, one check in flight.
 *
 *   npx tsx bench/redis-limiter-cost.ts [--checks N] [--only case] [--callgrind]
 *
 * It starts a redis-server of its own on a free port (under `valgrind --tool=callgrind` with
 * --callgrind) and, per case: warms up, zeroes the counters (CONFIG RESETSTAT; callgrind_control -z),
 * runs N checks one after the other, then prints Redis's own figures per check: INFO commandstats
 * usec per call of every command (the script's and those it ran), and with --callgrind the
 * redis-server instructions per check (callgrind_control -d, the dump's total). The Node side is
 * measured by running this file itself under callgrind twice with different --checks and --client
 * (no server of its own: REDIS_URL) and dividing the difference, with --zero-after-warmup so that
 * only the checks are counted (the dump after them, callgrind.out.<pid>.1); see bench/NOTES.md.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import Redis from 'ioredis'
import { RateLimiterRedis } from 'rate-limiter-flexible'
import { RedisRateLimiter } from '../src/limiters/redis-rate-limiter.js'
import type { RateLimitRule } from '../src/types.js'
import { freePort } from '../scripts/free-port.js'

const { values: flags } = parseArgs({
  options: {
    checks: { type: 'string', default: '2000' },
    only: { type: 'string' },
    callgrind: { type: 'boolean', default: false },
    // Client only: run the checks against REDIS_URL and exit (for callgrind on the Node process; a
    // timeout of 10 minutes, as valgrind slows Node down fifty times).
    client: { type: 'boolean', default: false },
    warmup: { type: 'string', default: '2000' },
    // Client only, under callgrind: zero the counters after the warm-up and dump them after the
    // checks (callgrind_control on this very process), so Node's start-up, which varies by
    // hundreds of millions of instructions from run to run, is left out.
    'zero-after-warmup': { type: 'boolean', default: false },
  },
})
const checks = Number(flags.checks)
const warmup = Number(flags.warmup)

async function startServer(callgrind: boolean): Promise<{ url: string; child: ChildProcess; dir: string }> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'kw-redis-cost-'))
  const server = ['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']
  const argv = callgrind ? ['valgrind', '--tool=callgrind', `--callgrind-out-file=${dir}/callgrind.out.%p`, ...server] : server
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir })
  await new Promise<void>((resolve, reject) => {
    let log = ''
    child.stdout!.on('data', (chunk: Buffer) => {
      log += chunk.toString()
      if (log.includes('Ready to accept connections')) resolve()
    })
    child.on('exit', () => reject(new Error(`redis-server exited: ${log}`)))
  })
  return { url: `redis://127.0.0.1:${port}`, child, dir }
}

type Check = () => Promise<unknown>
function cases(client: Redis, peerClient: Redis): Record<string, Check> {
  const limiter = new RedisRateLimiter({ client, prefix: 'kwcost:', timeoutMs: 600_000 })
  const gcra: RateLimitRule[] = [{ limit: 1_000_000_000, windowMs: 3_600_000 }]
  const fixed: RateLimitRule[] = [{ limit: 1_000_000_000, windowMs: 3_600_000, algorithm: 'fixed-window' }]
  const lockout = { maxFailures: 1_000_000_000, windowMs: 3_600_000 }
  const peer = new RateLimiterRedis({ storeClient: peerClient, keyPrefix: 'rlfcost', points: 1_000_000_000, duration: 3600 })
  // A new key id per check: the rule's key is missing every time (a key's first call, or one idle
  // for longer than its window).
  let fresh = 0
  // The address has a failure on record (its lockout key exists, not blocked): recorded once, in the warm-up.
  let failed = false
  const withFailure = async (rules: RateLimitRule[]) => {
    if (!failed) {
      failed = true
      await limiter.recordFailure('203.0.113.8', lockout, 0)
    }
    return limiter.limit({ key: 'AbCd1234', rules, blockKey: '203.0.113.8', now: 0 })
  }
  return {
    'keyward gcra': () => limiter.limit({ key: 'AbCd1234', rules: gcra, now: 0 }),
    'keyward fixed-window': () => limiter.limit({ key: 'AbCd1234', rules: fixed, now: 0 }),
    'keyward gcra + lockout': () => limiter.limit({ key: 'AbCd1234', rules: gcra, blockKey: '203.0.113.7', now: 0 }),
    'keyward fixed-window + lockout': () => limiter.limit({ key: 'AbCd1234', rules: fixed, blockKey: '203.0.113.7', now: 0 }),
    'keyward gcra + lockout, a failure on record': () => withFailure(gcra),
    'keyward gcra, a new key each check': () => limiter.limit({ key: `New${++fresh}`, rules: gcra, now: 0 }),
    'keyward fixed-window, a new key each check': () => limiter.limit({ key: `New${++fresh}`, rules: fixed, now: 0 }),
    'rate-limiter-flexible': () => peer.consume('AbCd1234'),
    // A failure recorded for lockout, never reaching the limit (the peer counts it as a consume).
    'keyward recordFailure': () => limiter.recordFailure('203.0.113.9', lockout, 0),
  }
}

/**
 * callgrind_control on this process (valgrind runs it): asynchronously, with the event loop kept
 * busy meanwhile, as callgrind only reads its commands while the program runs.
 */
async function callgrindControl(command: '-z' | '-d'): Promise<void> {
  const child = spawn('callgrind_control', [command, String(process.pid)], { stdio: 'ignore' })
  let exited = false
  child.on('exit', () => (exited = true))
  while (!exited) await new Promise((resolve) => setImmediate(resolve))
}

async function run(check: Check, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await check()
}

if (flags.client) {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
  const client = new Redis(url)
  const peerClient = new Redis(url)
  const check = cases(client, peerClient)[flags.only ?? 'keyward gcra']
  if (check === undefined) throw new Error(`no case ${flags.only}`)
  if (flags['zero-after-warmup']) {
    await run(check, warmup)
    await callgrindControl('-z')
    await run(check, checks)
    await callgrindControl('-d')
  } else {
    await run(check, warmup + checks)
  }
  client.disconnect()
  peerClient.disconnect()
} else {
  const server = await startServer(flags.callgrind)
  // Never leave the server behind, whatever happens below.
  process.on('exit', () => server.child.kill())
  const client = new Redis(server.url)
  const peerClient = new Redis(server.url)
  const admin = new Redis(server.url)
  const pid = server.child.pid!
  const valgrindPid = pid
  let dumps = 0
  for (const [name, check] of Object.entries(cases(client, peerClient))) {
    if (flags.only !== undefined && name !== flags.only) continue
    await run(check, warmup)
    await admin.config('RESETSTAT')
    if (flags.callgrind) execFileSync('callgrind_control', ['-z', String(valgrindPid)], { stdio: 'ignore' })
    await run(check, checks)
    let instructions = NaN
    if (flags.callgrind) {
      execFileSync('callgrind_control', ['-d', String(valgrindPid)], { stdio: 'ignore' })
      // Dumps are callgrind.out.<pid>.<n>, n counting up; the newest is this case's, once written whole.
      dumps += 1
      const file = join(server.dir, `callgrind.out.${pid}.${dumps}`)
      // callgrind_control returns before the dump is written: wait for its totals line.
      let summary: RegExpExecArray | null = null
      while (summary === null) {
        await new Promise((resolve) => setTimeout(resolve, 200))
        summary = existsSync(file) ? /^totals: (\d+)/m.exec(readFileSync(file, 'utf8')) : null
      }
      instructions = Number(summary[1]) / checks
      console.log(`(callgrind dump: ${file})`)
    }
    const stats = await admin.info('commandstats')
    const commands = [...stats.matchAll(/^cmdstat_([\w|]+):calls=(\d+),usec=(\d+),usec_per_call=([\d.]+)/gm)]
      .filter(([, cmd]) => cmd !== 'config' && cmd !== 'info')
      .map(([, cmd, calls, usec]) => `${cmd} ${(Number(calls) / checks).toFixed(2)}×/check ${(Number(usec) / checks).toFixed(3)} µs/check`)
    console.log(
      `${name}: ${Number.isNaN(instructions) ? '' : `${Math.round(instructions)} redis-server instructions/check; `}${commands.join('; ')}`,
    )
  }
  await admin.flushall()
  client.disconnect()
  peerClient.disconnect()
  admin.disconnect()
  server.child.kill()
}
