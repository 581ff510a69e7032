import { displayPrefix } from './format.js'
import type { CreditsInfo, KeyCredits, KeyInfo, KeyRecord } from '../types.js'

const date = (ms: number | null): Date | null => (ms === null ? null : new Date(ms))

/**
 * A record's credits as {@link KeyInfo} shows them (no epoch), with `remaining` replaced by the
 * live balance when one was read from the limiter.
 *
 * @example
 * ```ts
 * creditsInfo(record.credits, 41) // { remaining: 41, refill: null }
 * ```
 */
export function creditsInfo(credits: KeyCredits | null, live?: number): CreditsInfo | null {
  if (credits === null || credits === undefined || credits.removed === true) return null
  const refill = credits.refill === null ? null : { amount: credits.refill.amount, intervalMs: credits.refill.intervalMs }
  return { remaining: live ?? credits.remaining, refill }
}

// Written out by hand: a literal of one fixed shape is about twice as fast as a loop over
// KEY_RECORD_FIELDS. Still tied to the table: `src/keys/record-fields.ts` asserts at compile time
// that KeyInfo is exactly its `info` fields, so a field added there fails to compile here until
// it is listed, and test/keys/record-fields.test.ts checks the keys at run time.

/**
 * The public view of a stored record: everything but the hash. Always a fresh object.
 *
 * @example
 * ```ts
 * const info = toKeyInfo(record) // no `hash` field
 * ```
 */
export function toKeyInfo(record: KeyRecord): KeyInfo {
  return {
    id: record.id,
    displayPrefix: displayPrefix(record.prefix, record.environment, record.id),
    environment: record.environment,
    orgId: record.orgId,
    name: record.name,
    description: record.description,
    projects: [...record.projects],
    scopes: [...record.scopes],
    allowedOrigins: [...record.allowedOrigins],
    allowedIps: [...record.allowedIps],
    rateLimit: record.rateLimit.map((rule) => ({ ...rule })),
    metadata: structuredClone(record.metadata),
    expiresAt: date(record.expiresAt),
    createdAt: new Date(record.createdAt),
    updatedAt: new Date(record.updatedAt),
    lastUsedAt: date(record.lastUsedAt),
    revokedAt: date(record.revokedAt),
    rotatedFrom: record.rotatedFrom,
    rotatedTo: record.rotatedTo,
    credits: creditsInfo(record.credits),
  }
}
