/**
 * NOSCRIPT recognised however a client wraps Redis's reply, and scripts run through either
 * client's spelling: without a server (fake clients record what is sent).
 */
import { describe, expect, it } from 'vitest'
import { RedisRateLimiter } from '../../src/limiters/redis-rate-limiter.js'
import { isNoScript, redisScript, runScript } from '../../src/stores/redis-scripts.js'
import { RedisTokenStore } from '../../src/stores/redis-token-store.js'
import { bareRecord } from '../../testing/index.js'

const REDIS_REPLY = 'NOSCRIPT No matching script. Please use EVAL.'

/** Each shape a client library gives the same Redis reply. */
const WRAPPED: Array<[string, () => unknown]> = [
  ['ioredis ReplyError (the message as Redis sent it)', () => Object.assign(new Error(REDIS_REPLY), { name: 'ReplyError' })],
  ['node-redis ErrorReply / SimpleError', () => Object.assign(new Error(REDIS_REPLY), { name: 'SimpleError' })],
  [
    '@upstash/redis UpstashError (its own words before the reply)',
    () => new Error(`UpstashError: ${REDIS_REPLY}, command was: ["evalsha",...]`),
  ],
  ['an ERR-prefixed reply', () => new Error(`ERR ${REDIS_REPLY}`)],
  ['a wrapper whose cause is the reply', () => new Error('Command failed', { cause: new Error(REDIS_REPLY) })],
  [
    'a cause two levels down',
    () => new Error('pipeline failed', { cause: new Error('EVALSHA failed', { cause: new Error(REDIS_REPLY) }) }),
  ],
  ['a plain object with a message (not an Error)', () => ({ message: REDIS_REPLY })],
]

/** Replies that are not NOSCRIPT: the script must not be re-sent, the call must fail. */
const NOT_NOSCRIPT: Array<[string, unknown]> = [
  ['another error', new Error('ERR Error running script')],
  ['a word that only contains it', new Error('ERR MYNOSCRIPTS is not a command')],
  ['a string, not an error', REDIS_REPLY],
  ['null', null],
  [
    'a cause chain that loops, without NOSCRIPT',
    (() => {
      const a = new Error('a')
      const b = new Error('b', { cause: a })
      ;(a as { cause?: unknown }).cause = b
      return a
    })(),
  ],
]

describe('isNoScript', () => {
  it.each(WRAPPED)('recognises %s', (_, make) => {
    expect(isNoScript(make())).toBe(true)
  })

  it.each(NOT_NOSCRIPT)('does not mistake %s for it', (_, error) => {
    expect(isNoScript(error)).toBe(false)
  })
})

/** A client of either spelling that answers NOSCRIPT (wrapped by `wrap`) to the first EVALSHA. */
function forgetfulClient(spelling: 'ioredis' | 'node-redis', wrap: () => unknown) {
  const sent: string[] = []
  const answer = (command: string) => {
    sent.push(command)
    if (command === 'evalsha' && sent.length === 1) return Promise.reject(wrap())
    return Promise.resolve(1)
  }
  const client =
    spelling === 'ioredis'
      ? { evalsha: () => answer('evalsha'), eval: () => answer('eval'), hgetall: () => Promise.resolve({}) }
      : { evalSha: () => answer('evalsha'), eval: () => answer('eval'), hGetAll: () => Promise.resolve({}) }
  return { client, sent }
}

describe('runScript, the store and the limiter after a script flush', () => {
  for (const spelling of ['ioredis', 'node-redis'] as const) {
    it.each(WRAPPED)(`${spelling}: sends the script whole once after %s`, async (_, wrap) => {
      const { client, sent } = forgetfulClient(spelling, wrap)
      expect(await runScript(client as never, redisScript('return 1'), ['k'], [])).toBe(1)
      expect(sent).toStrictEqual(['evalsha', 'eval'])
    })

    it.each(NOT_NOSCRIPT)(`${spelling}: rejects, without re-sending, on %s`, async (_, error) => {
      const { client, sent } = forgetfulClient(spelling, () => error)
      await expect(runScript(client as never, redisScript('return 1'), ['k'], [])).rejects.toBe(error)
      expect(sent).toStrictEqual(['evalsha'])
    })
  }

  it('the store and the limiter recover from an @upstash-style wrapped NOSCRIPT (one EVAL), on either spelling', async () => {
    const upstash = () => new Error(`UpstashError: ${REDIS_REPLY}`)
    for (const spelling of ['ioredis', 'node-redis'] as const) {
      const store = forgetfulClient(spelling, upstash)
      expect(await new RedisTokenStore(store.client as never, { listen: false }).insert(bareRecord())).toBe(true)
      expect(store.sent).toStrictEqual(['evalsha', 'eval', 'evalsha'])
      const limiter = forgetfulClient(spelling, upstash)
      // The limiter's reply is checked: a recording client answering 1 fails the shape check after the retry.
      await expect(
        new RedisRateLimiter({ client: limiter.client as never }).recordFailure('a', { maxFailures: 2, windowMs: 1000 }),
      ).rejects.toThrow(/unexpected reply/)
      expect(limiter.sent).toStrictEqual(['evalsha', 'eval'])
    }
  })
})
