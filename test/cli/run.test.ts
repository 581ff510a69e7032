import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { EXIT } from '../../src/cli/exit-codes.js'
import { describeKey, flagIssues, formatRate } from '../../src/cli/output.js'
import { parseCredits, parseDuration, parseExpiry, parseRate, parseRefill } from '../../src/cli/parse-values.js'
import { runCli, type CliIo } from '../../src/cli/run.js'

/** Runs the CLI in this process; only command lines refused before any store is opened. */
async function run(args: string[], env: Record<string, string> = {}) {
  let stdout = ''
  let stderr = ''
  const io: CliIo = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env, now: () => Date.UTC(2026, 10, 22) }
  const code = await runCli(args, io)
  return { code, stdout, stderr }
}

describe('CLI value syntax', () => {
  it('durations', () => {
    expect(parseDuration('90s')).toBe(90_000)
    expect(parseDuration('15m')).toBe(900_000)
    expect(parseDuration('24h')).toBe(86_400_000)
    expect(parseDuration('30d')).toBe(30 * 86_400_000)
    for (const bad of ['', '1', 'h', '1.5h', '-1h', '1w', '1 h', '1H', '24hh']) expect(parseDuration(bad), bad).toBeNull()
  })

  it('rates', () => {
    expect(parseRate('5000/h')).toEqual({ limit: 5000, windowMs: 3_600_000 })
    expect(parseRate('100/10m')).toEqual({ limit: 100, windowMs: 600_000 })
    expect(parseRate('1/s')).toEqual({ limit: 1, windowMs: 1000 })
    expect(parseRate('10/d')).toEqual({ limit: 10, windowMs: 86_400_000 })
    for (const bad of ['5000', '5000/', '/h', '0/h', '10/0m', '5000/hour', '1e3/h', '5000/H']) expect(parseRate(bad), bad).toBeNull()
  })

  it('credits and refills', () => {
    expect(parseCredits('1000')).toBe(1000)
    for (const bad of ['', '-1', '1.5', '1e3', 'ten', '12345678901234567']) expect(parseCredits(bad), bad).toBeNull()
    expect(parseRefill('1000/d')).toEqual({ amount: 1000, intervalMs: 86_400_000 })
    expect(parseRefill('50/12h')).toEqual({ amount: 50, intervalMs: 43_200_000 })
    for (const bad of ['1000', '1000/', '/d', '10/0d', '5/week', '5/d:gcra']) expect(parseRefill(bad), bad).toBeNull()
  })

  it('expiry: a duration from now or an ISO date', () => {
    const now = Date.UTC(2026, 10, 22)
    expect(parseExpiry('30d', now)).toBe(now + 30 * 86_400_000)
    expect(parseExpiry('2027-01-01', now)).toBe('2027-01-01')
    expect(parseExpiry('next week', now)).toBeNull()
  })
})

describe('CLI command line (no store needed)', () => {
  it('help: general and per command, exit 0; no command at all is a usage error', async () => {
    expect(await run(['--help'])).toMatchObject({ code: EXIT.ok, stdout: expect.stringContaining('Usage: keyward keys <command>') })
    expect((await run([])).code).toBe(EXIT.usage)
    for (const command of ['create', 'list', 'show', 'rotate', 'revoke', 'update']) {
      const reply = await run(['keys', command, '--help'])
      expect(reply.code).toBe(EXIT.ok)
      expect(reply.stdout).toContain(`keyward keys ${command}`)
      expect(reply.stdout).toContain('Exit codes')
    }
  })

  it('usage errors: exit 1 with a message on stderr and nothing on stdout', async () => {
    const store = ['--database-url', 'postgres://nobody@127.0.0.1:1/none', '--prefix', 'bsk']
    const cases: Array<[string[], RegExp]> = [
      [['tokens', 'list'], /unknown command "tokens"/],
      [['keys', 'delete', 'x'], /unknown command "keys delete"/],
      [['keys', 'list', '--org', 'o', '--colour'], /Unknown option '--colour'/],
      [['keys', 'show', ...store], /takes one key id/],
      [['keys', 'list', '--org', 'o'], /no store/],
      [['keys', 'list', '--org', 'o', '--database-url', 'postgres://x', '--redis-url', 'redis://x', '--prefix', 'bsk'], /not both/],
      [['keys', 'list', '--org', 'o', '--database-url', 'postgres://x'], /--prefix/],
      [['keys', 'list', '--org', 'o', ...store, '--env', 'prod'], /--env/],
      [['keys', 'create', '--org', 'o', '--project', 'p', ...store], /--name is required/],
      [['keys', 'create', '--name', 'n', '--org', 'o', ...store], /--project is required/],
      [['keys', 'create', '--name', 'n', '--org', 'o', '--project', 'p', '--rate', '5000/hour', ...store], /--rate "5000\/hour"/],
      [['keys', 'create', '--name', 'n', '--org', 'o', '--project', 'p', '--expires', 'soon', ...store], /--expires "soon"/],
      [['keys', 'create', '--name', 'n', '--org', 'o', '--project', 'p', '--credits', 'lots', ...store], /--credits "lots"/],
      [['keys', 'create', '--name', 'n', '--org', 'o', '--project', 'p', '--refill', '5/d', ...store], /--refill needs --credits/],
      [
        ['keys', 'create', '--name', 'n', '--org', 'o', '--project', 'p', '--credits', '5', '--refill', '5/week', ...store],
        /--refill "5\/week"/,
      ],
      [['keys', 'update', 'AbCd1234', ...store], /give --credits N/],
      [['keys', 'update', 'AbCd1234', '--no-credits', '--credits', '5', ...store], /--no-credits cannot go with/],
      [['keys', 'update', '--credits', '5', ...store], /takes one key id/],
    ]
    for (const [args, message] of cases) {
      const reply = await run(args)
      expect(reply.code, args.join(' ')).toBe(EXIT.usage)
      expect(reply.stderr).toMatch(message)
      expect(reply.stdout).toBe('')
    }
  })

  it('--version prints the package version, exit 0', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
    for (const flag of ['--version', '-v']) {
      const reply = await run([flag])
      expect(reply).toEqual({ code: EXIT.ok, stdout: `${version}\n`, stderr: '' })
    }
  })

  it('DATABASE_URL and REDIS_URL both set, no flag choosing: refused as ambiguous (exit 1), nothing opened', async () => {
    // Both URLs point at closed ports: picking either would be exit 3 (unavailable), not a usage error.
    const env = { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none', REDIS_URL: 'redis://127.0.0.1:1', KEYWARD_PREFIX: 'bsk' }
    const reply = await run(['keys', 'list', '--org', 'o'], env)
    expect(reply.code).toBe(EXIT.usage)
    expect(reply.stderr).toMatch(/both DATABASE_URL and REDIS_URL are set/)
    expect(reply.stderr).toMatch(/--database-url or --redis-url/)
    expect(reply.stdout).toBe('')
    // A flag says which one is meant: then the other variable is not a question.
    expect((await run(['keys', 'list', '--org', 'o', '--redis-url', 'redis://127.0.0.1:1'], env)).code).toBe(EXIT.unavailable)
  })

  it('a store option for the other backend is refused, not ignored', async () => {
    const pgFlags = ['--database-url', 'postgres://nobody@127.0.0.1:1/none', '--prefix', 'bsk']
    const redisFlags = ['--redis-url', 'redis://127.0.0.1:1', '--prefix', 'bsk']
    const prefixOnPg = await run(['keys', 'list', '--org', 'o', ...pgFlags, '--redis-prefix', 'kw2:'])
    expect(prefixOnPg.code).toBe(EXIT.usage)
    expect(prefixOnPg.stderr).toMatch(/--redis-prefix applies to Redis/)
    const schemaOnRedis = await run(['keys', 'list', '--org', 'o', ...redisFlags, '--schema', 'auth'])
    expect(schemaOnRedis.code).toBe(EXIT.usage)
    expect(schemaOnRedis.stderr).toMatch(/--schema applies to PostgreSQL/)
  })

  it('a malformed --schema or --redis-prefix is a usage error (exit 1) naming the flag, before any connection', async () => {
    const pgFlags = ['--database-url', 'postgres://nobody@127.0.0.1:1/none', '--prefix', 'bsk']
    for (const schema of ['Auth', 'a-b', 'auth; DROP TABLE x', '1abc', '', 'x'.repeat(64)]) {
      const reply = await run(['keys', 'list', '--org', 'o', ...pgFlags, '--schema', schema])
      expect(reply.code, schema).toBe(EXIT.usage)
      expect(reply.stderr).toMatch(/--schema must be a lowercase SQL identifier/)
    }
    const reply = await run([
      'keys',
      'list',
      '--org',
      'o',
      '--redis-url',
      'redis://127.0.0.1:1',
      '--prefix',
      'bsk',
      '--redis-prefix',
      'kw:{x}:',
    ])
    expect(reply.code).toBe(EXIT.usage)
    expect(reply.stderr).toMatch(/--redis-prefix must not contain \{ or \}/)
  })

  it('takes the store and prefix from the environment; an unreachable store is exit 3 without the password', async () => {
    const reply = await run(['keys', 'show', 'AAAAAAAA'], {
      DATABASE_URL: 'postgres://admin:hunter2secret@127.0.0.1:1/none',
      KEYWARD_PREFIX: 'bsk',
    })
    expect(reply.code).toBe(EXIT.unavailable)
    expect(reply.stderr).toMatch(/store is unavailable/)
    expect(reply.stderr).not.toContain('hunter2secret')
  })
})

describe('CLI output', () => {
  it('rates are shown as given on the command line', () => {
    for (const text of ['5000/h', '100/10m', '1/s', '10/d', '7/90s', '3/36h']) expect(formatRate(parseRate(text)!), text).toBe(text)
    expect(formatRate({ limit: 5, windowMs: 60_000 })).toBe('5/m')
    expect(formatRate({ limit: 5, windowMs: 120_000 })).toBe('5/2m')
    // Not whole seconds (a key made through the library): said in ms rather than rounded.
    expect(formatRate({ limit: 5, windowMs: 1500 })).toBe('5/1500ms')
  })

  it('describeKey prints the rate as 5000/h', () => {
    const info = {
      id: 'AAAAAAAA',
      displayPrefix: 'bsk_live_AAAAAAAA',
      name: 'n',
      description: null,
      orgId: 'o',
      environment: 'live',
      projects: ['p'],
      scopes: ['read'],
      allowedOrigins: [],
      allowedIps: [],
      rateLimit: [
        { limit: 5000, windowMs: 3_600_000 },
        { limit: 100, windowMs: 600_000 },
      ],
      expiresAt: null,
      createdAt: new Date(0),
      lastUsedAt: null,
      revokedAt: null,
      rotatedFrom: null,
      rotatedTo: null,
      metadata: {},
    } as unknown as Parameters<typeof describeKey>[0]
    expect(describeKey(info)).toMatch(/^rate limit:\s+5000\/h, 100\/10m$/m)
  })

  it('validation issues name the flag and the value given, not the input field', () => {
    const values = { origin: ['example.com', '*.example.com'], ip: ['999.0.0.1'], rate: ['5/h', '2000000000/s'], project: ['p'] }
    const text = flagIssues(
      [
        { field: 'name', message: 'must not be empty' },
        { field: 'allowedOrigins[1]', message: 'must be a hostname' },
        { field: 'allowedIps[0]', message: 'must be an IPv4 or IPv6 address' },
        { field: 'rateLimit[1].limit', message: 'must be a positive integer' },
        { field: 'orgId', message: 'must not be empty' },
        { field: 'projects[0]', message: 'must not contain control characters' },
        { field: 'scopes', message: 'must have at most 64 entries' },
        { field: 'expiresAt', message: 'must be in the future' },
        { field: 'gracePeriodMs', message: 'must be at most 30 days' },
        { field: 'id', message: 'must be an 8-character key id' },
      ],
      values,
    )
    expect(text.split('\n').filter(Boolean)).toEqual([
      '  --name: must not be empty',
      '  --origin "*.example.com": must be a hostname',
      '  --ip "999.0.0.1": must be an IPv4 or IPv6 address',
      '  --rate "2000000000/s": limit must be a positive integer',
      '  --org: must not be empty',
      '  --project "p": must not contain control characters',
      '  --scope: must have at most 64 entries',
      '  --expires: must be in the future',
      '  --grace: must be at most 30 days',
      '  key id: must be an 8-character key id',
    ])
    expect(text).not.toMatch(/allowedOrigins|allowedIps|rateLimit|orgId|expiresAt|gracePeriodMs/)
  })
})
