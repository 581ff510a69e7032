import type { RefreshFamilyRecord, RefreshRotation } from '../jwt/refresh-family.js'

// A family is a hash of plain strings (times as decimal epoch ms, revokedAt '' while not
// revoked), so the scripts compare them without decoding. Each script is atomic: Redis runs one
// script at a time.

/**
 * KEYS: family. ARGV: expiresAt, then field, value, ... Reply: 1 stored, 0 id taken. The key
 * expires by itself at `expiresAt` (PEXPIREAT).
 *
 * @example
 * ```ts
 * await client.eval(INSERT_FAMILY_SCRIPT, 1, key, String(expiresAt), ...familyFields(record))
 * ```
 */
export const INSERT_FAMILY_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return 1
`

/**
 * KEYS: family. ARGV: presented, next, expiresAt, now. Reply: the outcome, decided and applied
 * in one step (see `rotationOutcome`: the same rules).
 *
 * @example
 * ```ts
 * await client.eval(ROTATE_FAMILY_SCRIPT, 1, key, presented, next, String(expiresAt), String(now))
 * ```
 */
export const ROTATE_FAMILY_SCRIPT = `
local state = redis.call('HMGET', KEYS[1], 'current', 'expiresAt', 'revokedAt')
if not state[1] or not state[2] or not state[3] then return 'unknown' end
if tonumber(state[2]) <= tonumber(ARGV[4]) then return 'unknown' end
if state[3] ~= '' then return 'revoked' end
if state[1] == ARGV[1] then
  redis.call('HSET', KEYS[1], 'current', ARGV[2], 'expiresAt', ARGV[3])
  redis.call('PEXPIREAT', KEYS[1], ARGV[3])
  return 'rotated'
end
redis.call('HSET', KEYS[1], 'revokedAt', ARGV[4])
return 'reused'
`

/**
 * KEYS: family. ARGV: now. Reply: 1 when this call revoked a live family, 0 when it was absent,
 * expired or already revoked (so of concurrent calls, exactly one answers 1).
 *
 * @example
 * ```ts
 * await client.eval(REVOKE_FAMILY_SCRIPT, 1, key, String(now))
 * ```
 */
export const REVOKE_FAMILY_SCRIPT = `
local state = redis.call('HMGET', KEYS[1], 'expiresAt', 'revokedAt')
if not state[1] or not state[2] then return 0 end
if tonumber(state[1]) <= tonumber(ARGV[1]) then return 0 end
if state[2] ~= '' then return 0 end
redis.call('HSET', KEYS[1], 'revokedAt', ARGV[1])
return 1
`

/**
 * The hash fields of a family, flattened for HSET.
 *
 * @example
 * ```ts
 * familyFields(record) // ['id', 'fam...', 'subject', 'user_1', ...]
 * ```
 */
export function familyFields(record: RefreshFamilyRecord): string[] {
  return [
    'id',
    record.id,
    'subject',
    record.subject,
    'orgId',
    record.orgId,
    'current',
    record.current,
    'expiresAt',
    String(record.expiresAt),
    'revokedAt',
    record.revokedAt === null ? '' : String(record.revokedAt),
    'createdAt',
    String(record.createdAt),
  ]
}

function malformed(field: string): never {
  throw new TypeError(`keyward: Redis returned a malformed refresh family ${field}`)
}

function time(text: string | undefined, field: string): number {
  if (text === undefined || !/^-?\d+$/.test(text)) malformed(field)
  const n = Number(text)
  if (!Number.isSafeInteger(n)) malformed(field)
  return n
}

function text(value: string | undefined, field: string): string {
  if (value === undefined) malformed(field)
  return value
}

/**
 * A family from its hash (HGETALL), checked field by field; null for an empty hash (absent).
 *
 * @example
 * ```ts
 * const family = toFamily(await client.hgetall(key))
 * ```
 */
export function toFamily(fields: ReadonlyMap<string, string>): RefreshFamilyRecord | null {
  if (fields.size === 0) return null
  const revokedAt = text(fields.get('revokedAt'), 'revokedAt')
  return {
    id: text(fields.get('id'), 'id'),
    subject: text(fields.get('subject'), 'subject'),
    orgId: text(fields.get('orgId'), 'orgId'),
    current: text(fields.get('current'), 'current'),
    expiresAt: time(fields.get('expiresAt'), 'expiresAt'),
    revokedAt: revokedAt === '' ? null : time(revokedAt, 'revokedAt'),
    createdAt: time(fields.get('createdAt'), 'createdAt'),
  }
}

const OUTCOMES: ReadonlySet<unknown> = new Set<RefreshRotation>(['rotated', 'reused', 'revoked', 'unknown'])

/**
 * The rotate script's reply as an outcome; anything else is a TypeError (never a pass).
 *
 * @example
 * ```ts
 * const outcome = toRotation(reply)
 * ```
 */
export function toRotation(reply: unknown): RefreshRotation {
  if (!OUTCOMES.has(reply)) throw new TypeError('keyward: unexpected reply from the Redis refresh rotation script')
  return reply as RefreshRotation
}
