// Node-only by nature (a child process, its stdin and stdout): the one file of keyward/testing
// that imports node: modules. The suites themselves stay portable.
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { createKeyward } from '../src/keyward.js'
import type { RefreshRotation } from '../src/jwt/refresh-family.js'
import type { TokenStore } from '../src/stores/token-store.js'

/** What the suite asks of another server process on the same backend. */
export interface SecondProcess {
  /** Verifies `key` (project `prod-site`) with the other process's keyward, which caches keys for an hour. */
  verify(key: string): Promise<{ ok: boolean; code: string | null }>
  /** Resolves once the other process's store has announced a change of key `id` (its cache has dropped the key by then). */
  announced(id: string): Promise<void>
  /** Fires `count` concurrent rotations of one refresh token there and answers their outcomes. */
  rotate(request: { id: string; presented: string; count: number; expiresAt: number; now: number }): Promise<RefreshRotation[]>
  /** Ends the process; rejects if it exits with anything but 0. */
  close(): Promise<void>
  /** Kills it if it still runs (a test that timed out never reached its `close`). */
  kill(): void
}

type Message = Record<string, unknown>

/**
 * Starts another server process for the suite's cross-process tests: `command` with `args` runs
 * a script of yours that opens its own store on the same backend (its own connections) and hands
 * it to {@link serveSecondProcess}. The suite's test timeout bounds every wait; nothing sleeps.
 *
 * @example
 * ```ts
 * const harness = {
 *   store,
 *   close,
 *   secondProcess: () =>
 *     startSecondProcess({ command: process.execPath, args: ['--import', 'tsx', 'test/serve-my-store.ts'], env: { MY_SCHEMA: schema } }),
 * }
 * ```
 */
export async function startSecondProcess(options: {
  command: string
  args?: readonly string[]
  env?: Record<string, string>
  cwd?: string | URL
}): Promise<SecondProcess> {
  const child = spawn(options.command, [...(options.args ?? [])], {
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    env: { ...process.env, ...options.env },
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
  const inbox: Message[] = []
  let read = 0
  let check: () => void = () => {}
  createInterface({ input: child.stdout }).on('line', (line) => {
    inbox.push(JSON.parse(line) as Message)
    check()
  })
  // The first message from the last one read on that matches; lines that do not match are
  // skipped, and one that arrives before its waiter stays in the inbox for it.
  const next = (match: (m: Message) => boolean) =>
    new Promise<Message>((resolve, reject) => {
      check = () => {
        while (read < inbox.length) {
          const message = inbox[read++]!
          if (match(message)) {
            check = () => {}
            return resolve(message)
          }
        }
      }
      void exited.then((code) => reject(new Error(`the second process exited (${code})`)))
      check()
    })
  const send = (message: Message) => child.stdin.write(`${JSON.stringify(message)}\n`)
  try {
    await next((m) => m.ready === true)
  } catch (error) {
    child.kill()
    throw error
  }
  return {
    async verify(key) {
      send({ verify: key })
      const m = await next((m) => 'ok' in m)
      return { ok: m.ok as boolean, code: m.code as string | null }
    },
    async announced(id) {
      await next((m) => (m.event as { type?: string; id?: string } | undefined)?.type === 'key' && (m.event as { id: string }).id === id)
    },
    async rotate(request) {
      send({ rotate: request })
      return (await next((m) => 'outcomes' in m)).outcomes as RefreshRotation[]
    },
    async close() {
      child.stdin.end()
      const code = await exited
      if (code !== 0) throw new Error(`the second process exited with ${code}`)
    },
    kill() {
      if (child.exitCode === null) child.kill()
    },
  }
}

/**
 * The other end of {@link startSecondProcess}: call it in the script that command runs, with a
 * store of your own on the same backend. It answers the suite's requests until stdin ends, then
 * closes the keyward and calls `close` (end your pools there).
 *
 * @example
 * ```ts
 * // test/serve-my-store.ts
 * import { serveSecondProcess } from 'keyward/testing'
 * const store = new MyTokenStore(await connect())
 * await serveSecondProcess(store, { subscribed: () => store.listening(), close: () => store.close() })
 * ```
 */
export async function serveSecondProcess(
  store: TokenStore,
  options: { subscribed?: () => Promise<void>; close?: () => Promise<void> } = {},
): Promise<void> {
  // An hour-long cache: only the store's announcement can make this process forget a key.
  const kw = createKeyward({ prefix: 'bsk', store, usageFlushMs: false, cache: { ttlMs: 3_600_000 } })
  const say = (message: Message) => process.stdout.write(`${JSON.stringify(message)}\n`)
  // Subscribed after keyward's own listener, and listeners are called in order: when this line is
  // written, the cache has dropped the key.
  const unsubscribe = store.subscribe?.((event) => say({ event })) ?? (() => {})
  await options.subscribed?.()
  say({ ready: true })
  try {
    for await (const line of createInterface({ input: process.stdin })) {
      const request = JSON.parse(line) as {
        verify?: string
        rotate?: { id: string; presented: string; count: number; expiresAt: number; now: number }
      }
      if (request.verify !== undefined) {
        const result = await kw.verify({ headers: { authorization: `Bearer ${request.verify}` }, project: 'prod-site' })
        say({ ok: result.ok, code: result.ok ? null : result.error.code })
      } else if (request.rotate !== undefined) {
        const { id, presented, count, expiresAt, now } = request.rotate
        const outcomes = await Promise.all(
          Array.from({ length: count }, (_, i) => store.rotateRefreshFamily!(id, presented, `there_${i}`, expiresAt, now)),
        )
        say({ outcomes })
      }
    }
  } finally {
    unsubscribe()
    await kw.close()
    await options.close?.()
  }
}
