/**
 * One login session's chain of refresh tokens; only `current` may be used. Times are epoch ms.
 *
 * @example
 * ```ts
 * const family: RefreshFamilyRecord = {
 *   id: 'Xk3q9ZkAabcdefghijklmn', subject: 'user_1', orgId: 'org_1', current: 'jti_1',
 *   expiresAt: now + 7 * 86_400_000, revokedAt: null, createdAt: now,
 * }
 * ```
 */
export interface RefreshFamilyRecord {
  /** Family id (random base62, 22 chars); stores treat it as opaque, at most 64 characters. */
  id: string
  subject: string
  orgId: string
  /** jti of the one refresh token of this family that may be presented (opaque, at most 64 characters). */
  current: string
  /** At or past it the family is dead: treated as absent (stores may delete it). */
  expiresAt: number
  revokedAt: number | null
  createdAt: number
}

/**
 * What {@link TokenStore.rotateRefreshFamily} did:
 * - `rotated`: the presented jti was current; `next` is current now.
 * - `reused`: a retired jti was presented again; the family is revoked now.
 * - `revoked`: the family was already revoked; nothing changed.
 * - `unknown`: no such family, or it expired; nothing changed.
 *
 * @example
 * ```ts
 * const outcome: RefreshRotation = await store.rotateRefreshFamily!(id, jti, nextJti, expiresAt, now)
 * if (outcome !== 'rotated') refuse()
 * ```
 */
export type RefreshRotation = 'rotated' | 'reused' | 'revoked' | 'unknown'

/** Longest family id or jti a store accepts. */
const MAX_ID_LENGTH = 64
/** Longest subject or org id a store accepts. */
const MAX_NAME_LENGTH = 256

function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i)
    if (code < 0x20 || code === 0x7f) return true
  }
  return false
}

// Control characters are refused everywhere (PostgreSQL cannot even store NUL), so every backend
// accepts and refuses exactly the same strings.
function checkText(value: unknown, name: string, max: number): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max || hasControlCharacter(value)) {
    throw new TypeError(`keyward: ${name} must be a non-empty string of at most ${max} characters without control characters`)
  }
  return value
}

/**
 * Throws a TypeError unless `value` is a family id or jti: a non-empty string of at most 64
 * characters without control characters.
 *
 * @example
 * ```ts
 * checkFamilyId(id, 'id') // returns id, or throws
 * ```
 */
export function checkFamilyId(value: unknown, name: string): string {
  return checkText(value, name, MAX_ID_LENGTH)
}

/**
 * Throws a TypeError unless `value` is an integer number of epoch ms (a safe integer).
 *
 * @example
 * ```ts
 * checkFamilyTime(Date.now(), 'now')
 * ```
 */
export function checkFamilyTime(value: unknown, name: string): number {
  if (!Number.isSafeInteger(value)) throw new TypeError(`keyward: ${name} must be an integer (epoch ms)`)
  return value as number
}

/**
 * A validated copy of `record` with exactly the {@link RefreshFamilyRecord} fields; throws a
 * TypeError naming the first bad field.
 *
 * @example
 * ```ts
 * const clean = checkRefreshFamilyRecord(record) // before anything is stored
 * ```
 */
export function checkRefreshFamilyRecord(record: unknown): RefreshFamilyRecord {
  if (record === null || typeof record !== 'object') throw new TypeError('keyward: a refresh family must be an object')
  const r = record as Record<string, unknown>
  const revokedAt = r.revokedAt === null ? null : checkFamilyTime(r.revokedAt, 'revokedAt')
  return {
    id: checkFamilyId(r.id, 'id'),
    subject: checkText(r.subject, 'subject', MAX_NAME_LENGTH),
    orgId: checkText(r.orgId, 'orgId', MAX_NAME_LENGTH),
    current: checkFamilyId(r.current, 'current'),
    expiresAt: checkFamilyTime(r.expiresAt, 'expiresAt'),
    revokedAt,
    createdAt: checkFamilyTime(r.createdAt, 'createdAt'),
  }
}

/**
 * Validates {@link TokenStore.rotateRefreshFamily}'s arguments; throws a TypeError on the first
 * bad one (including a `next` equal to `presented`, which would keep a used token current).
 *
 * @example
 * ```ts
 * checkRotation(id, presented, next, expiresAt, now)
 * ```
 */
export function checkRotation(id: unknown, presented: unknown, next: unknown, expiresAt: unknown, now: unknown): void {
  checkFamilyId(id, 'id')
  checkFamilyId(presented, 'presented')
  checkFamilyId(next, 'next')
  if (next === presented) throw new TypeError('keyward: next must differ from presented')
  checkFamilyTime(expiresAt, 'expiresAt')
  checkFamilyTime(now, 'now')
}

/**
 * The outcome of presenting `presented` to `family` at `now`, as every store decides it.
 * `family` null means absent.
 *
 * @example
 * ```ts
 * rotationOutcome(await find(id), presented, now) // 'rotated' | 'reused' | 'revoked' | 'unknown'
 * ```
 */
export function rotationOutcome(
  family: Pick<RefreshFamilyRecord, 'current' | 'expiresAt' | 'revokedAt'> | null,
  presented: string,
  now: number,
): RefreshRotation {
  if (family === null || family.expiresAt <= now) return 'unknown'
  if (family.revokedAt !== null) return 'revoked'
  return family.current === presented ? 'rotated' : 'reused'
}
