// Every entry point that takes options refuses what it does not know and names the option: an
// unknown key (with a "did you mean" for a near miss), a wrong type, a value out of range, and a
// mistake inside a nested object. The valid configuration of each row must pass, so a row whose
// checker throws for everything fails here too.
import { Redis } from 'ioredis'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { authenticate as expressAuthenticate, managementRouter as expressManagement } from '../../adapters/express.js'
import { authenticate as fastifyAuthenticate, managementRouter as fastifyManagement } from '../../adapters/fastify.js'
import { authenticateRequest, managementHandler, withAuth } from '../../adapters/fetch.js'
import { authenticate as honoAuthenticate, managementRouter as honoManagement } from '../../adapters/hono.js'
import { authenticate as koaAuthenticate, managementRouter as koaManagement } from '../../adapters/koa.js'
import { createKeyward, createManagementHandler, MemoryRateLimiter, MemoryTokenStore, withFailurePolicy } from '../../src/index.js'
import { RedisRateLimiter } from '../../src/limiters/redis-rate-limiter.js'
import { PostgresTokenStore } from '../../src/stores/postgres-token-store.js'
import { RedisTokenStore } from '../../src/stores/redis-token-store.js'

// Real driver objects that never connect: constructors only read their shape.
const redis = new Redis({ lazyConnect: true })
const pool = new pg.Pool({ max: 1 })
afterAll(async () => {
  redis.disconnect()
  await pool.end()
})

const kw = createKeyward({ prefix: 'bsk', usageFlushMs: false })
const secret = 'x'.repeat(32)
const jwt = { issuer: 'https://api.example', audience: 'api', signingKey: { alg: 'HS256' as const, secret } }

type Options = Record<string, unknown>
interface Row {
  name: string
  build: (options: Options) => unknown
  valid: Options
  /** [options merged into `valid`, the message expected]. */
  bad: Array<[Options, RegExp]>
}

const rows: Row[] = [
  {
    name: 'createKeyward',
    build: (o) => createKeyward(o as never),
    valid: { prefix: 'bsk', lockout: { maxFailures: 3, windowMs: 60_000 }, cache: { ttlMs: 5 }, usageFlushMs: false },
    bad: [
      [{ lockOut: false }, /unknown option "lockOut" \(did you mean "lockout"\?\)/],
      [{ cache: { ttlMS: 5 } }, /unknown option "cache\.ttlMS" \(did you mean "cache\.ttlMs"\?\)/],
      [{ environment: 'prod' }, /environment must be 'live' or 'test'/],
      [{ now: 5 }, /now must be a function/],
      [{ usageFlushMs: 10 }, /usageFlushMs must be false or an integer of at least 100/],
      [{ cache: { max: 0 } }, /cache\.max must be a positive integer/],
      [{ cache: { ttlMs: -1 } }, /cache\.ttlMs must be a non-negative integer/],
      [{ lockout: { maxFailures: 3 } }, /lockout\.windowMs is required/],
      [{ lockout: { maxFailures: 3, windowMs: 60_000, window: 1 } }, /unknown option "lockout\.window"/],
      [{ defaultRateLimit: [{ limit: 5, windowMs: 1500 }] }, /defaultRateLimit\[0\]\.windowMs must be a whole number of seconds/],
      [
        { defaultRateLimit: { limit: 5, windowMs: 1000, windwMs: 1 } },
        /unknown option "defaultRateLimit\.windwMs" \(did you mean "defaultRateLimit\.windowMs"\?\)/,
      ],
      [{ store: {} }, /store must be a TokenStore/],
      [{ limiter: 'redis' }, /limiter must be a RateLimiter/],
      [{ onBackgroundError: 'log' }, /onBackgroundError must be a function/],
    ],
  },
  {
    name: 'createKeyward({ jwt })',
    build: (o) => createKeyward({ prefix: 'bsk', usageFlushMs: false, jwt: o } as never),
    valid: { ...jwt, cache: { max: 10 }, accessTokenTtl: 60 },
    bad: [
      [{ accesTokenTtl: 60 }, /unknown option "jwt\.accesTokenTtl" \(did you mean "jwt\.accessTokenTtl"\?\)/],
      [{ accessTokenTtl: 5 }, /jwt\.accessTokenTtl must be a whole number of seconds from 10 to 86400/],
      [{ issuer: 5 }, /jwt\.issuer must be a non-empty string/],
      [{ cache: { maxx: 10 } }, /unknown option "jwt\.cache\.maxx" \(did you mean "jwt\.cache\.max"\?\)/],
      [{ cache: { max: 0 } }, /jwt\.cache\.max must be a positive integer/],
      [
        { signingKey: { alg: 'HS256', secret, kdi: 'a' } },
        /unknown option "jwt\.signingKey\.kdi" \(did you mean "jwt\.signingKey\.kid"\?\)/,
      ],
      [
        { jwks: { issuer: 'https://idp.example', jwksUrl: 'https://idp.example/jwks', audience: 'api', timeoutMS: 5 } },
        /unknown option "jwt\.jwks\[0\]\.timeoutMS" \(did you mean "jwt\.jwks\[0\]\.timeoutMs"\?\)/,
      ],
    ],
  },
  {
    name: 'MemoryTokenStore',
    build: (o) => new MemoryTokenStore(o as never),
    valid: {},
    bad: [[{ max: 5 }, /unknown option "max"/]],
  },
  {
    name: 'PostgresTokenStore',
    build: (o) => new PostgresTokenStore(pool, o as never),
    valid: { schema: 'auth', queryTimeoutMs: 300, heartbeatMs: false, listen: false },
    bad: [
      [{ timeoutMs: 300 }, /unknown option "timeoutMs"/],
      [{ queryTimeoutMS: 300 }, /did you mean "queryTimeoutMs"\?/],
      [{ listen: 'yes' }, /listen must be a boolean/],
      [{ queryTimeoutMs: 0 }, /queryTimeoutMs must be a positive integer/],
    ],
  },
  {
    name: 'RedisTokenStore',
    build: (o) => new RedisTokenStore(redis, o as never),
    valid: { prefix: 'kw:', timeoutMs: 300, listen: false },
    bad: [
      [{ timeoutMS: 300 }, /unknown option "timeoutMS" \(did you mean "timeoutMs"\?\)/],
      [{ onError: 'log' }, /onError must be a function/],
      [{ reconnectDelayMs: 0 }, /reconnectDelayMs must be a positive integer/],
    ],
  },
  {
    name: 'MemoryRateLimiter',
    build: (o) => new MemoryRateLimiter(o as never),
    valid: { maxKeys: 10, maxAddresses: 10 },
    bad: [
      [{ maxkeys: 10 }, /unknown option "maxkeys" \(did you mean "maxKeys"\?\)/],
      [{ maxKeys: '10' }, /maxKeys must be a positive integer/],
      [{ maxAddresses: 0 }, /maxAddresses must be a positive integer/],
    ],
  },
  {
    name: 'RedisRateLimiter',
    build: (o) => new RedisRateLimiter(o as never),
    valid: { client: redis, prefix: 'kw:', timeoutMs: 100 },
    bad: [
      [{ timeout: 100 }, /unknown option "timeout"/],
      [{ cluster: 'no' }, /cluster must be a boolean/],
      [{ timeoutMs: -1 }, /timeoutMs must be a positive number of ms/],
    ],
  },
  {
    name: 'withFailurePolicy',
    build: (o) => withFailurePolicy(new MemoryRateLimiter(), o as never),
    valid: { quota: 'memory', fallback: new MemoryRateLimiter() },
    bad: [
      [{ qouta: 'open' }, /unknown option "qouta" \(did you mean "quota"\?\)/],
      [{ quota: 'half' }, /quota must be 'closed', 'open' or 'memory'/],
      [{ fallback: {} }, /fallback must be a RateLimiter/],
    ],
  },
  {
    name: 'createManagementHandler',
    build: (o) => createManagementHandler(kw, o as never),
    valid: { scope: 'admin', maxBodyBytes: 4096 },
    bad: [
      [{ scopes: 'admin' }, /unknown management option "scopes" \(did you mean "scope"\?\)/],
      [{ maxBodyBytes: 10 }, /maxBodyBytes must be an integer from 256 to 1048576/],
      [{ onError: 1 }, /onError must be a function/],
    ],
  },
]

const adapterAuth: Array<[string, (o: Options) => unknown]> = [
  ['express authenticate', (o) => expressAuthenticate(kw, o as never)],
  ['koa authenticate', (o) => koaAuthenticate(kw, o as never)],
  ['hono authenticate', (o) => honoAuthenticate(kw, o as never)],
  ['fastify authenticate', (o) => fastifyAuthenticate(kw, o as never)],
  ['fetch withAuth', (o) => withAuth(kw, () => new Response(), o as never)],
  ['fetch authenticateRequest', (o) => authenticateRequest(kw, new Request('http://x/'), o as never)],
]
for (const [name, build] of adapterAuth) {
  rows.push({
    name,
    // authenticateRequest checks on its first call: a rejected promise is thrown here.
    build,
    valid: { scopes: 'read', optional: true, trustProxy: 1 },
    bad: [
      [{ scope: 'read' }, /unknown option "scope" \(did you mean "scopes"\?\)/],
      [{ optional: 'yes' }, /optional must be a boolean/],
      [{ project: 'p' }, /project must be a function/],
      [{ trustProxy: -1 }, /trustProxy/],
    ],
  })
}

const adapterManagement: Array<[string, (o: Options) => unknown]> = [
  ['express managementRouter', (o) => expressManagement(kw, o as never)],
  ['koa managementRouter', (o) => koaManagement(kw, o as never)],
  ['hono managementRouter', (o) => honoManagement(kw, o as never)],
  ['fastify managementRouter', (o) => fastifyManagement(kw, o as never)],
  ['fetch managementHandler', (o) => managementHandler(kw, o as never)],
]
for (const [name, build] of adapterManagement) {
  rows.push({
    name,
    build,
    valid: { scope: 'admin', trustProxy: 1 },
    bad: [
      [{ trustproxy: 1 }, /unknown management option "trustproxy" \(did you mean "trustProxy"\?\)/],
      [{ maxBodyBytes: 'big' }, /maxBodyBytes must be an integer/],
    ],
  })
}

async function outcome(build: () => unknown): Promise<unknown> {
  try {
    await build()
    return undefined
  } catch (error) {
    return error
  }
}

describe.each(rows)('$name options', ({ build, valid, bad }) => {
  it('accepts the valid configuration', async () => {
    expect(await outcome(() => build(valid))).toBeUndefined()
  })

  it.each(bad)('refuses %j', async (change, message) => {
    const error = await outcome(() => build({ ...valid, ...change }))
    expect(error).toBeInstanceOf(TypeError)
    expect((error as Error).message).toMatch(message)
    expect((error as Error).message).toMatch(/^keyward: /)
  })
})
