import { parseArgs } from 'node:util'
import { isKeywardError, type KeywardError } from '../errors.js'
import { createKeyward, type Keyward } from '../keyward.js'
import type { Environment } from '../keys/format.js'
import { EXIT } from './exit-codes.js'
import { helpText } from './help.js'
import { MissingDriverError, openStore, type StoreTarget } from './open-store.js'
import { describeKey, flagIssues, keyTable } from './output.js'
import { redactUrlCredentials } from './redact.js'
import { parseCredits, parseDuration, parseExpiry, parseRate, parseRefill } from './parse-values.js'
import { packageVersion } from './version.js'
import { resolveTableName } from '../stores/postgres-schema.js'

/**
 * Where the CLI writes, and what it reads of its environment: injected so it can run in-process.
 *
 * @example
 * ```ts
 * const io: CliIo = { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t), env: process.env, now: Date.now }
 * ```
 */
export interface CliIo {
  stdout(text: string): void
  stderr(text: string): void
  env: Readonly<Record<string, string | undefined>>
  now(): number
}

type Values = Record<string, string | boolean | string[] | undefined>

const COMMON = {
  'database-url': { type: 'string' },
  schema: { type: 'string' },
  'redis-url': { type: 'string' },
  'redis-prefix': { type: 'string' },
  prefix: { type: 'string' },
  env: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const

const COMMANDS = {
  create: {
    name: { type: 'string' },
    org: { type: 'string' },
    project: { type: 'string', multiple: true },
    scope: { type: 'string', multiple: true },
    origin: { type: 'string', multiple: true },
    ip: { type: 'string', multiple: true },
    rate: { type: 'string', multiple: true },
    expires: { type: 'string' },
    description: { type: 'string' },
    credits: { type: 'string' },
    refill: { type: 'string' },
  },
  // Only credits for now: the balance set (the CLI cannot reach the app's limiter to top one up).
  update: { credits: { type: 'string' }, refill: { type: 'string' }, 'no-refill': { type: 'boolean' }, 'no-credits': { type: 'boolean' } },
  list: { org: { type: 'string' }, limit: { type: 'string' }, after: { type: 'string' }, 'include-revoked': { type: 'boolean' } },
  show: {},
  rotate: { grace: { type: 'string' } },
  revoke: { successors: { type: 'boolean' } },
} as const

type Command = keyof typeof COMMANDS

/** A command-line mistake: exit 1 with the message and a pointer to --help. */
class UsageError extends Error {}

function required(values: Values, name: string): string {
  const value = values[name]
  // An empty value is passed on: the validation then names it with every other bad field.
  if (typeof value !== 'string') throw new UsageError(`--${name} is required`)
  return value
}

function storeTarget(values: Values, env: CliIo['env']): StoreTarget {
  const databaseFlag = values['database-url'] as string | undefined
  const redisFlag = values['redis-url'] as string | undefined
  // Flags win over the environment; two flags at once are ambiguous, and so are two variables
  // with no flag to choose: guessing would write keys to a store the user did not mean.
  if (databaseFlag !== undefined && redisFlag !== undefined) throw new UsageError('give --database-url or --redis-url, not both')
  let kind: StoreTarget['kind']
  if (databaseFlag !== undefined) kind = 'postgres'
  else if (redisFlag !== undefined) kind = 'redis'
  else if (env.DATABASE_URL && env.REDIS_URL) {
    throw new UsageError(
      'both DATABASE_URL and REDIS_URL are set, so the store is ambiguous: name it with --database-url ' +
        'or --redis-url (e.g. --redis-url "$REDIS_URL"), or unset one',
    )
  } else if (env.DATABASE_URL) kind = 'postgres'
  else if (env.REDIS_URL) kind = 'redis'
  else throw new UsageError('no store: give --database-url (or DATABASE_URL) or --redis-url (or REDIS_URL)')
  const schema = values.schema as string | undefined
  const prefix = values['redis-prefix'] as string | undefined
  if (kind === 'postgres') {
    if (prefix !== undefined) throw new UsageError('--redis-prefix applies to Redis only; the store here is PostgreSQL')
    if (schema === undefined) return { kind, url: databaseFlag ?? env.DATABASE_URL! }
    try {
      resolveTableName({ schema })
    } catch {
      throw new UsageError(
        `--schema must be a lowercase SQL identifier ([a-z_][a-z0-9_]*) of at most 63 characters, not ${JSON.stringify(schema)}`,
      )
    }
    return { kind, url: databaseFlag ?? env.DATABASE_URL!, schema }
  }
  if (schema !== undefined) throw new UsageError('--schema applies to PostgreSQL only; the store here is Redis')
  if (prefix === undefined) return { kind, url: redisFlag ?? env.REDIS_URL! }
  // RedisTokenStore's rule: braces would break the cluster hash tag its keys share.
  if (/[{}]/.test(prefix)) throw new UsageError('--redis-prefix must not contain { or }')
  return { kind, url: redisFlag ?? env.REDIS_URL!, prefix }
}

function keyOptions(values: Values, env: CliIo['env']): { prefix: string[]; environment: Environment; pepper?: string } {
  const prefix = (values.prefix as string | undefined) ?? env.KEYWARD_PREFIX
  if (!prefix) throw new UsageError('--prefix (or KEYWARD_PREFIX) is required: the key prefix your server uses, e.g. bsk')
  const environment = (values.env as string | undefined) ?? env.KEYWARD_ENV ?? 'live'
  if (environment !== 'live' && environment !== 'test') throw new UsageError("--env must be 'live' or 'test'")
  const pepper = env.KEYWARD_PEPPER
  return { prefix: prefix.split(','), environment, ...(pepper ? { pepper } : {}) }
}

function createInput(values: Values, now: number): Record<string, unknown> {
  const input: Record<string, unknown> = { name: required(values, 'name'), orgId: required(values, 'org') }
  const projects = values.project as string[] | undefined
  if (projects === undefined) throw new UsageError('--project is required (repeat it for several)')
  input.projects = projects
  if (values.scope !== undefined) input.scopes = values.scope
  if (values.origin !== undefined) input.allowedOrigins = values.origin
  if (values.ip !== undefined) input.allowedIps = values.ip
  if (values.description !== undefined) input.description = values.description
  if (values.rate !== undefined) {
    input.rateLimit = (values.rate as string[]).map(
      (text) => parseRate(text) ?? fail(`--rate ${JSON.stringify(text)} is not a rate such as 5000/h or 100/10m`),
    )
  }
  if (values.expires !== undefined) {
    const text = values.expires as string
    input.expiresAt = parseExpiry(text, now) ?? fail(`--expires ${JSON.stringify(text)} is not a duration (30d, 12h) or an ISO date`)
  }
  if (values.credits !== undefined) input.credits = creditsInput(values)
  else if (values.refill !== undefined) fail('--refill needs --credits (the balance to start from)')
  return input
}

/** `--credits N [--refill A/PERIOD | --no-refill]` as the library's `credits`. */
function creditsInput(values: Values): Record<string, unknown> {
  const text = values.credits as string
  const remaining = parseCredits(text) ?? fail(`--credits ${JSON.stringify(text)} is not a whole number of credits`)
  if (values.refill === undefined) return { remaining, refill: null }
  const refillText = values.refill as string
  const refill = parseRefill(refillText) ?? fail(`--refill ${JSON.stringify(refillText)} is not a refill such as 1000/d or 50/h`)
  return { remaining, refill }
}

function updateInput(values: Values): Record<string, unknown> {
  if (values['no-credits'] === true) {
    if (values.credits !== undefined || values.refill !== undefined) fail('--no-credits cannot go with --credits or --refill')
    return { credits: null }
  }
  if (values.credits === undefined) fail('give --credits N (with --refill A/PERIOD or --no-refill), or --no-credits')
  if (values.refill !== undefined && values['no-refill'] === true) fail('give --refill or --no-refill, not both')
  return { credits: creditsInput(values) }
}

function fail(message: string): never {
  throw new UsageError(message)
}

async function execute(command: Command, kw: Keyward, values: Values, id: string | undefined, io: CliIo): Promise<void> {
  const json = values.json === true
  const out = (value: unknown, text: string) => io.stdout(json ? `${JSON.stringify(value, null, 2)}\n` : text)
  switch (command) {
    case 'create': {
      const created = await kw.keys.create(createInput(values, io.now()) as never, { actor: { type: 'cli' } })
      out(created, `Key (shown once; keyward keeps only its hash):\n\n  ${created.key}\n\n${describeKey(created.info)}`)
      return
    }
    case 'list': {
      const limit =
        values.limit === undefined
          ? undefined
          : /^[0-9]{1,4}$/.test(values.limit as string)
            ? Number(values.limit)
            : fail('--limit must be a whole number from 1 to 1000')
      const infos = await kw.keys.list({
        orgId: required(values, 'org'),
        includeRevoked: values['include-revoked'] === true,
        ...(limit === undefined ? {} : { limit }),
        ...(values.after === undefined ? {} : { after: values.after as string }),
      })
      out(infos, keyTable(infos))
      return
    }
    case 'update': {
      const input = updateInput(values)
      // `--credits N` alone changes the balance, not the plan: the refill set stays (`--no-refill` removes it).
      if (values.credits !== undefined && values.refill === undefined && values['no-refill'] !== true) {
        const current = await kw.keys.get(id!, { credits: 'configured' })
        const credits = input.credits as { refill: unknown }
        credits.refill = current?.credits?.refill ?? null
      }
      const info = await kw.keys.update(id!, input as never, { actor: { type: 'cli' } })
      out(info, `Updated ${info.id} (${info.name}).\n${describeKey(info)}`)
      return
    }
    case 'show': {
      // The live balance is in the app's limiter, which the CLI does not reach: the one last set.
      const info = await kw.keys.get(id!, { credits: 'configured' })
      if (info === null) throw notFound(id!)
      out(info, describeKey(info))
      return
    }
    case 'rotate': {
      const grace =
        values.grace === undefined
          ? 0
          : (parseDuration(values.grace as string) ?? fail(`--grace ${JSON.stringify(values.grace)} is not a duration such as 24h`))
      const created = await kw.keys.rotate(id!, { gracePeriodMs: grace }, { actor: { type: 'cli' } })
      const until = grace === 0 ? 'The old key no longer works.' : `The old key works until ${new Date(io.now() + grace).toISOString()}.`
      out(created, `New key (shown once; keyward keeps only its hash):\n\n  ${created.key}\n\n${until}\n${describeKey(created.info)}`)
      return
    }
    case 'revoke': {
      const successors = values.successors === true
      const info = await kw.keys.revoke(id!, { successors }, { actor: { type: 'cli' } })
      const also = successors ? ' Every key rotated from it is revoked too.' : ''
      out(info, `Revoked ${info.id} (${info.name}) at ${info.revokedAt?.toISOString()}.${also}\n`)
      return
    }
  }
}

function notFound(id: string): KeywardError & Error {
  const error = new Error(`no key with id ${JSON.stringify(id)}`) as KeywardError & Error
  return Object.assign(error, { code: 'not_found' as const })
}

function report(error: unknown, io: CliIo, values: Values = {}): number {
  if (error instanceof UsageError) {
    io.stderr(`keyward: ${error.message}\nRun keyward keys --help for usage.\n`)
    return EXIT.usage
  }
  if (error instanceof MissingDriverError) {
    io.stderr(`keyward: ${error.message}\n`)
    return EXIT.usage
  }
  const code = (error as { code?: unknown } | null)?.code
  if (isKeywardError(error) && error.code === 'validation_failed') {
    // The library's message lists its field paths; the lines below name the flags instead.
    io.stderr(`keyward: ${error.message.replace(/:.*$/s, '')}\n${flagIssues(error.errors ?? [], values)}`)
    return EXIT.rejected
  }
  if (code === 'not_found') {
    io.stderr(
      'keyward: ' +
        (error instanceof Error && !isKeywardError(error) ? error.message : 'no such key (or it is revoked, expired or rotated out)') +
        '\n',
    )
    return EXIT.rejected
  }
  // The store could not be reached or failed. The cause's message names the server, never the URL's password.
  const cause = isKeywardError(error) ? error.cause : error
  const detail = cause instanceof Error ? `: ${redactUrlCredentials(cause.message)}` : ''
  io.stderr(`keyward: the store is unavailable${detail}\n`)
  return EXIT.unavailable
}

/**
 * Runs `keyward <args>` and resolves with the exit code. Never throws.
 *
 * @example
 * ```ts
 * process.exitCode = await runCli(process.argv.slice(2), io)
 * ```
 */
export async function runCli(args: readonly string[], io: CliIo): Promise<number> {
  const [group, name, ...rest] = args
  if ((group === '--version' || group === '-v') && name === undefined) {
    io.stdout(`${packageVersion()}\n`)
    return EXIT.ok
  }
  if (group === undefined || group === '--help' || group === '-h' || group === 'help') {
    io.stdout(helpText())
    return group === undefined ? EXIT.usage : EXIT.ok
  }
  if (group !== 'keys') return report(new UsageError(`unknown command ${JSON.stringify(group)}`), io)
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(helpText())
    return name === undefined ? EXIT.usage : EXIT.ok
  }
  if (!Object.hasOwn(COMMANDS, name)) return report(new UsageError(`unknown command "keys ${name}"`), io)
  const command = name as Command
  let values: Values
  let positionals: string[]
  try {
    ;({ values, positionals } = parseArgs({
      args: [...rest],
      options: { ...COMMON, ...COMMANDS[command] },
      allowPositionals: true,
      strict: true,
    }) as { values: Values; positionals: string[] })
  } catch (error) {
    return report(new UsageError((error as Error).message), io)
  }
  if (values.help === true) {
    io.stdout(helpText(command))
    return EXIT.ok
  }
  const wantsId = command === 'show' || command === 'rotate' || command === 'revoke' || command === 'update'
  if (positionals.length !== (wantsId ? 1 : 0)) {
    return report(
      new UsageError(wantsId ? `keys ${command} takes one key id` : `unexpected argument ${JSON.stringify(positionals[0])}`),
      io,
    )
  }
  let opened: Awaited<ReturnType<typeof openStore>> | undefined
  try {
    const target = storeTarget(values, io.env)
    const keys = keyOptions(values, io.env)
    // Flag mistakes before any connection.
    if (command === 'create') createInput(values, io.now())
    if (command === 'update') updateInput(values)
    opened = await openStore(target)
    // Quiet in the background: the CLI spends no credits (the warning about a per-process limiter is
    // the app's), and with usage off nothing else runs there.
    const kw = createKeyward({
      ...keys,
      store: opened.store,
      usageFlushMs: false,
      cache: false,
      lockout: false,
      now: io.now,
      onBackgroundError: () => {},
    })
    await execute(command, kw, values, positionals[0], io)
    return EXIT.ok
  } catch (error) {
    return report(error, io, values)
  } finally {
    await opened?.close().catch(() => {})
  }
}
