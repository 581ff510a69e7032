import { spawn } from 'node:child_process'
import { expect, onTestFinished } from 'vitest'
import type { RefreshRotation, TokenStore } from '../../src/index.js'
import { jsonLines } from '../support/child-process.js'
import { familyRecord } from './refresh-family-conformance.js'

/**
 * Another server process with its own store (and its own connections) on the same backend:
 * for each JSON line it fires `count` concurrent rotations of one jti and answers their outcomes.
 */
const ROTATING_PROCESS = `
import { createInterface } from 'node:readline'
const config = JSON.parse(process.env.KW_CONFIG)
let store
let close
if (config.kind === 'postgres') {
  const { default: pg } = await import('pg')
  const { PostgresTokenStore } = await import(config.module)
  const pool = new pg.Pool({ ...config.server, max: 4 })
  store = new PostgresTokenStore(pool, { schema: config.schema, queryTimeoutMs: 10000 })
  close = () => pool.end()
} else {
  const { default: Redis } = await import('ioredis')
  const { RedisTokenStore } = await import(config.module)
  const redis = new Redis(config.server)
  store = new RedisTokenStore(redis, { prefix: config.prefix, timeoutMs: 10000, listen: false })
  close = () => redis.quit()
}
const say = (message) => process.stdout.write(JSON.stringify(message) + '\\n')
say({ ready: true })
for await (const line of createInterface({ input: process.stdin })) {
  const { id, presented, count, expiresAt, now } = JSON.parse(line)
  const outcomes = await Promise.all(Array.from({ length: count }, (_, i) => store.rotateRefreshFamily(id, presented, 'there_' + i, expiresAt, now)))
  say({ outcomes })
}
await close()
`

/** How the other process reaches the backend: the store module's URL and its connection settings. */
export type RaceBackend =
  | { kind: 'postgres'; module: string; server: object; schema: string }
  | { kind: 'redis'; module: string; server: object; prefix: string }

/**
 * Races two processes rotating the same refresh token, `rounds` times with `perSide` concurrent
 * calls each, and checks that every round has exactly one `rotated`, exactly one `reused`, and
 * leaves the family revoked with the winner's jti current.
 *
 * @example
 * ```ts
 * await raceRotationsAcrossProcesses(store, { kind: 'redis', module, server, prefix })
 * ```
 */
export async function raceRotationsAcrossProcesses(store: TokenStore, backend: RaceBackend, rounds = 5, perSide = 50): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', ROTATING_PROCESS], {
    cwd: new URL('../..', import.meta.url),
    env: { ...process.env, KW_CONFIG: JSON.stringify(backend) },
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
  onTestFinished(() => {
    if (child.exitCode === null) child.kill()
  })
  const { next } = jsonLines(child, exited)
  try {
    await next((m) => m.ready === true)
    for (let round = 0; round < rounds; round++) {
      const family = familyRecord()
      expect(await store.insertRefreshFamily!(family)).toBe(true)
      const now = Date.now()
      const expiresAt = now + 86_400_000
      child.stdin.write(`${JSON.stringify({ id: family.id, presented: family.current, count: perSide, expiresAt, now })}\n`)
      const here = Array.from({ length: perSide }, (_, i) => store.rotateRefreshFamily!(family.id, family.current, `here_${i}`, expiresAt, now))
      const [mine, theirs] = await Promise.all([Promise.all(here), next((m) => 'outcomes' in m)])
      const outcomes = [...mine.map((o) => ['here', o] as const), ...(theirs.outcomes as RefreshRotation[]).map((o) => ['there', o] as const)]
      const rotated = outcomes.flatMap(([side, o], i) => (o === 'rotated' ? [`${side}_${side === 'here' ? i : i - perSide}`] : []))
      expect(rotated).toHaveLength(1)
      expect(outcomes.filter(([, o]) => o === 'reused')).toHaveLength(1)
      expect(outcomes.filter(([, o]) => o === 'revoked')).toHaveLength(2 * perSide - 2)
      expect(await store.findRefreshFamily!(family.id)).toStrictEqual({ ...family, current: rotated[0], expiresAt, revokedAt: now })
    }
  } finally {
    child.stdin.end()
  }
  expect(await exited).toBe(0)
}
