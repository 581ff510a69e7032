import { describe, expect, it } from 'vitest'
import { EXIT } from '../../src/cli/exit-codes.js'
import { parseDuration, parseExpiry, parseRate } from '../../src/cli/parse-values.js'
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
    for (const command of ['create', 'list', 'show', 'rotate', 'revoke']) {
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
    ]
    for (const [args, message] of cases) {
      const reply = await run(args)
      expect(reply.code, args.join(' ')).toBe(EXIT.usage)
      expect(reply.stderr).toMatch(message)
      expect(reply.stdout).toBe('')
    }
  })

  it('takes the store and prefix from the environment; an unreachable store is exit 3 without the password', async () => {
    const reply = await run(['keys', 'show', 'AAAAAAAA'], { DATABASE_URL: 'postgres://admin:hunter2secret@127.0.0.1:1/none', KEYWARD_PREFIX: 'bsk' })
    expect(reply.code).toBe(EXIT.unavailable)
    expect(reply.stderr).toMatch(/store is unavailable/)
    expect(reply.stderr).not.toContain('hunter2secret')
  })
})
