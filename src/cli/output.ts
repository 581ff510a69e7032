import type { FieldIssue } from '../errors.js'
import type { KeyInfo } from '../types.js'

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
    ['rate limit', info.rateLimit.length === 0 ? '-' : info.rateLimit.map((r) => `${r.limit}/${r.windowMs / 1000}s`).join(', ')],
    ['expires', date(info.expiresAt)],
    ['created', date(info.createdAt)],
    ['last used', date(info.lastUsedAt)],
    ['revoked', date(info.revokedAt)],
  ]
  if (info.description !== null) rows.splice(3, 0, ['description', info.description])
  if (info.rotatedFrom !== null) rows.push(['rotated from', info.rotatedFrom])
  if (info.rotatedTo !== null) rows.push(['rotated to', info.rotatedTo])
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
  const rows = infos.map((i) => [i.id, i.displayPrefix, i.revokedAt !== null ? 'revoked' : i.rotatedTo !== null ? 'rotated' : 'active', list(i.scopes), i.name])
  const header = ['ID', 'PREFIX', 'STATE', 'SCOPES', 'NAME']
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)))
  return [header, ...rows].map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ') + '\n').join('')
}

/**
 * The bad fields of a refused input, one per line, for stderr.
 *
 * @example
 * ```ts
 * process.stderr.write(fieldIssues(error.errors ?? []))
 * ```
 */
export function fieldIssues(issues: readonly FieldIssue[]): string {
  return issues.map((i) => `  ${i.field}: ${i.message}\n`).join('')
}
