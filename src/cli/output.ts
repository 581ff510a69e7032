import type { FieldIssue } from '../errors.js'
import type { KeyInfo, RateLimitRule } from '../types.js'

const date = (value: Date | null): string => (value === null ? '-' : value.toISOString())
const list = (values: readonly string[]): string => (values.length === 0 ? '-' : values.join(', '))

/**
 * A key's info as aligned `label: value` lines for people. Never holds a secret (KeyInfo has none).
 *
 * @example
 * ```ts
 * process.stdout.write(describeKey(info))
 * ```
 */
export function describeKey(info: KeyInfo): string {
  const rows: Array<[string, string]> = [
    ['id', info.id],
    ['display prefix', info.displayPrefix],
    ['name', info.name],
    ['org', info.orgId],
    ['environment', info.environment],
    ['projects', list(info.projects)],
    ['scopes', list(info.scopes)],
    ['origins', list(info.allowedOrigins)],
    ['ips', list(info.allowedIps)],
    ['rate limit', info.rateLimit.length === 0 ? '-' : info.rateLimit.map(formatRate).join(', ')],
    ['expires', date(info.expiresAt)],
    ['created', date(info.createdAt)],
    ['last used', date(info.lastUsedAt)],
    ['revoked', date(info.revokedAt)],
  ]
  if (info.description !== null) rows.splice(3, 0, ['description', info.description])
  if (info.rotatedFrom !== null) rows.push(['rotated from', info.rotatedFrom])
  if (info.rotatedTo !== null) rows.push(['rotated to', info.rotatedTo])
  if (info.credits !== null && info.credits !== undefined) {
    const refill = info.credits.refill
    const every = refill === null ? '' : `, refilled to ${formatRate({ limit: refill.amount, windowMs: refill.intervalMs })}`
    rows.push(['credits', `${info.credits.remaining}${every}`])
  }
  return rows.map(([label, value]) => `${`${label}:`.padEnd(16)}${value}\n`).join('')
}

/**
 * One line per key, for `keys list`.
 *
 * @example
 * ```ts
 * process.stdout.write(keyTable(infos))
 * ```
 */
export function keyTable(infos: readonly KeyInfo[]): string {
  if (infos.length === 0) return 'No keys.\n'
  const rows = infos.map((i) => [
    i.id,
    i.displayPrefix,
    i.revokedAt !== null ? 'revoked' : i.rotatedTo !== null ? 'rotated' : 'active',
    list(i.scopes),
    i.name,
  ])
  const header = ['ID', 'PREFIX', 'STATE', 'SCOPES', 'NAME']
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)))
  return [header, ...rows].map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ') + '\n').join('')
}

const UNITS: ReadonlyArray<[string, number]> = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
]

/**
 * A rate limit in the `--rate` syntax it was given in (`5000/h`, `100/10m`): the largest unit
 * that divides the window, so what a user typed is what `keys show` prints back.
 *
 * @example
 * ```ts
 * formatRate({ limit: 5000, windowMs: 3_600_000 }) // '5000/h'
 * formatRate({ limit: 3, windowMs: 3_600_000, algorithm: 'fixed-window' }) // '3/h:fixed-window'
 * ```
 */
export function formatRate(rule: RateLimitRule): string {
  const unit = UNITS.find(([, ms]) => rule.windowMs % ms === 0)
  // A window that is not whole seconds (set through the library) is printed exactly, not rounded.
  const algorithm = rule.algorithm === undefined ? '' : `:${rule.algorithm}`
  if (unit === undefined) return `${rule.limit}/${rule.windowMs}ms${algorithm}`
  const count = rule.windowMs / unit[1]
  return `${rule.limit}/${count === 1 ? '' : count}${unit[0]}${algorithm}`
}

/** The library's input field -> the flag that fills it. */
const FLAGS: Readonly<Record<string, string>> = {
  name: '--name',
  description: '--description',
  orgId: '--org',
  projects: '--project',
  scopes: '--scope',
  allowedOrigins: '--origin',
  allowedIps: '--ip',
  rateLimit: '--rate',
  expiresAt: '--expires',
  gracePeriodMs: '--grace',
  credits: '--credits',
  limit: '--limit',
  after: '--after',
  id: 'key id',
}

/** Parts of a rate the library names on their own (`rateLimit[0].limit`), as the user knows them. */
const RATE_PARTS: Readonly<Record<string, string>> = { limit: 'limit', windowMs: 'window', remaining: 'balance', refill: 'refill' }

/**
 * The bad fields of a refused input, one per line, for stderr, named as the user typed them: the
 * flag and, for a repeated flag, the value that is wrong (`--origin "*.example.com": ...`), never
 * the library's field path (`allowedOrigins[1]`).
 *
 * @example
 * ```ts
 * process.stderr.write(flagIssues(error.errors ?? [], { origin: ['*.example.com'] }))
 * ```
 */
export function flagIssues(issues: readonly FieldIssue[], values: Readonly<Record<string, unknown>>): string {
  return issues
    .map((issue) => {
      const match = /^(\w+)(?:\[(\d+)\])?(?:\.(\w+))?$/.exec(issue.field)
      const flag = match === null ? undefined : FLAGS[match[1]!]
      if (match === null || flag === undefined) return `  ${issue.field}: ${issue.message}\n`
      const given = match[2] === undefined ? undefined : (values[flag.slice(2)] as unknown[] | undefined)?.[Number(match[2])]
      const part = match[3] === undefined ? '' : `${RATE_PARTS[match[3]] ?? match[3]} `
      return `  ${flag}${typeof given === 'string' ? ` ${JSON.stringify(given)}` : ''}: ${part}${issue.message}\n`
    })
    .join('')
}
