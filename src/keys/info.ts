import { displayPrefix } from './format.js'
import type { KeyInfo, KeyRecord } from '../types.js'

const date = (ms: number | null): Date | null => (ms === null ? null : new Date(ms))

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
  }
}
