/**
 * Many valid key records, fast: the same key format and hashing as `kw.keys.create()`
 * (src/keys/manager.ts) but inserted straight into a MemoryTokenStore, skipping input validation, which
 * would make a million keys take minutes. Ids are sequential base62, so they never collide.
 */
import { createKeyHasher, digestToHex } from '../src/keys/hashing.js'
import { encodeBase62 } from '../src/internal/base62.js'
import { generateKey, KEY_ID_LENGTH } from '../src/keys/format.js'
import { MemoryTokenStore } from '../src/stores/memory-token-store.js'
import type { KeyRecord } from '../src/types.js'

export const PREFIX = 'bsk'

/**
 * Inserts `count` keys into `store` and returns the full key string of every `keepEvery`-th one
 * (all of them by default): holding a million key strings would weigh on what is measured.
 */
export async function fillStore(store: MemoryTokenStore, count: number, keepEvery = 1): Promise<string[]> {
  const hash = createKeyHasher()
  const kept: string[] = []
  const now = Date.now()
  for (let i = 0; i < count; i++) {
    const { key, keyId } = generateKey(PREFIX, 'live', encodeBase62(i, KEY_ID_LENGTH))
    const record: KeyRecord = {
      id: keyId,
      prefix: PREFIX,
      environment: 'live',
      hash: digestToHex(hash(key)),
      orgId: `org_${i % 1000}`,
      name: `key ${i}`,
      description: null,
      projects: ['prod-site'],
      scopes: ['read'],
      allowedOrigins: [],
      allowedIps: [],
      rateLimit: [],
      metadata: {},
      expiresAt: null,
      createdAt: now,
      updatedAt: now,
      lastUsedAt: null,
      revokedAt: null,
      rotatedFrom: null,
      rotatedTo: null,
      version: 0,
      rootId: null,
      credits: null,
    }
    if (!(await store.insert(record))) throw new Error(`fixtures: id ${keyId} taken`)
    if (i % keepEvery === 0) kept.push(key)
  }
  return kept
}

/** A heap reading after a full collection (needs node --expose-gc; the runner passes it). */
export function heapUsed(): number {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error('run with node --expose-gc (npm run bench does)')
  gc()
  gc()
  return process.memoryUsage().heapUsed
}
