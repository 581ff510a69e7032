import { KeywardError } from './errors.js'
import { actorOf, type ActionContext, type Emit, type KeywardEventType } from './events.js'
import { enforceGrantCeiling } from './grant-ceiling.js'
import { digestToHex } from './hashing.js'
import { validateKeyInput, type CreateKeyInput, type UpdateKeyInput } from './key-input.js'
import { toKeyInfo } from './key-info.js'
import { generateKey, type Environment } from './key-format.js'
import type { Runtime } from './runtime.js'
import type { KeyRecordPatch } from './stores/token-store.js'
import type { KeyInfo, KeyRecord } from './types.js'

/**
 * What `kw.keys.create()` and `kw.keys.rotate()` return: the key, this once, and its info.
 *
 * @example
 * ```ts
 * const { key, info }: CreatedKey = await kw.keys.create(input)
 * showOnce(key) // keyward cannot show it again
 * ```
 */
export interface CreatedKey {
  /** The full secret. Shown once: keyward keeps only its hash. */
  key: string
  info: KeyInfo
}

/**
 * Options of `kw.keys.list()`.
 *
 * @example
 * ```ts
 * await kw.keys.list({ orgId: 'org_1', limit: 100 })
 * ```
 */
export interface ListKeysOptions {
  orgId: string
  /** Also list revoked keys (kept for audit). Default false. */
  includeRevoked?: boolean
  limit?: number
  /** Keyset pagination: ids after this one. */
  after?: string
}

/**
 * Options of `kw.keys.rotate()`.
 *
 * @example
 * ```ts
 * await kw.keys.rotate(id, { gracePeriodMs: 24 * 3_600_000 })
 * ```
 */
export interface RotateOptions {
  /** How long the old key keeps working, in ms. Default 0: invalid at once. At most 30 days. */
  gracePeriodMs?: number
}

/**
 * Key management: create, list, get, update, revoke, rotate. Every change is effective for the
 * very next `verify()` in this process, and announced through the store to the others.
 *
 * @example
 * ```ts
 * const { key, info } = await kw.keys.create({ name: 'CI', orgId: 'org_1', projects: ['main'], scopes: ['write'] })
 * await kw.keys.revoke(info.id)
 * ```
 */
export interface KeyManager {
  /**
   * `context` (who, from where) goes into the `onEvent` audit event; so for the other changes.
   * With `context.auth` (the verified caller), create, update and rotate are held to the grant
   * ceiling: 403 `insufficient_scope` for a key beyond what the caller holds, nothing stored.
   */
  create(input: CreateKeyInput, context?: ActionContext): Promise<CreatedKey>
  list(options: ListKeysOptions): Promise<KeyInfo[]>
  get(id: string): Promise<KeyInfo | null>
  update(id: string, patch: UpdateKeyInput, context?: ActionContext): Promise<KeyInfo>
  revoke(id: string, context?: ActionContext): Promise<KeyInfo>
  rotate(id: string, options?: RotateOptions, context?: ActionContext): Promise<CreatedKey>
}

const MAX_GRACE_MS = 30 * 24 * 3_600_000
const ID_ATTEMPTS = 5

function unavailable(cause: unknown): KeywardError {
  return cause instanceof KeywardError ? cause : new KeywardError('store_unavailable', { cause, retryAfter: 1 })
}

async function storeCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (cause) {
    throw unavailable(cause)
  }
}

function notFound(): KeywardError {
  return new KeywardError('not_found')
}

function checkId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || !/^[0-9A-Za-z]{8}$/.test(id)) {
    throw new KeywardError('validation_failed', { message: 'Invalid key id', errors: [{ field: 'id', message: 'must be an 8-character key id' }] })
  }
}

/**
 * Builds `kw.keys` over the shared runtime.
 *
 * @example
 * ```ts
 * const keys = createKeyManager(runtime, emit)
 * await keys.revoke('4fTq9ZkA')
 * ```
 */
export function createKeyManager(rt: Runtime, emit?: Emit): KeyManager {
  // Audit after the change is stored: an event never reports what did not happen.
  function audit(type: KeywardEventType, info: KeyInfo, context: ActionContext | undefined, rotatedTo?: string): void {
    if (emit === undefined) return
    emit({
      type,
      keyId: info.id,
      org: info.orgId,
      ...(rotatedTo === undefined ? {} : { rotatedTo }),
      ...(context?.actor !== undefined ? { actor: { ...context.actor } } : context?.auth !== undefined ? { actor: actorOf(context.auth) } : {}),
      ...(context?.ip === undefined ? {} : { ip: context.ip }),
    })
  }

  async function insertNew(fields: Omit<KeyRecord, 'id' | 'hash' | 'createdAt' | 'updatedAt' | 'lastUsedAt' | 'revokedAt' | 'rotatedTo'>): Promise<CreatedKey> {
    const now = rt.now()
    // Key ids are random; on the rare collision with an existing id, draw again.
    for (let attempt = 0; attempt < ID_ATTEMPTS; attempt++) {
      const { key, keyId } = generateKey(fields.prefix, fields.environment)
      const record: KeyRecord = {
        ...fields,
        id: keyId,
        hash: digestToHex(rt.hash(key)),
        createdAt: now,
        updatedAt: now,
        lastUsedAt: null,
        revokedAt: null,
        rotatedTo: null,
      }
      if (await storeCall(() => rt.store.insert(record))) {
        rt.cache.invalidate(keyId)
        return { key, info: toKeyInfo(record) }
      }
    }
    throw new KeywardError('store_unavailable', { message: 'Could not allocate a unique key id' })
  }

  async function change(id: string, patch: KeyRecordPatch): Promise<KeyRecord> {
    let updated: KeyRecord | null
    try {
      updated = await storeCall(() => rt.store.update(id, patch))
    } finally {
      // Also when the store reports a failure: the change may have been applied all the same
      // (a timeout after the commit, a dropped connection), and a stale cached record would
      // keep a revoked key working here until the cache expires.
      rt.cache.invalidate(id)
    }
    if (updated === null) throw notFound()
    return updated
  }

  // Only a key that still works on its own may be changed or rotated: otherwise `update` could
  // lift the expiry a rotation's grace period set, and bring a retired key back to life.
  async function live(id: string): Promise<KeyRecord> {
    checkId(id)
    const record = await storeCall(() => rt.store.findById(id))
    if (record === null || record.revokedAt !== null || record.rotatedTo !== null || (record.expiresAt !== null && record.expiresAt <= rt.now())) {
      throw notFound()
    }
    return record
  }

  const ctx = () => ({ now: rt.now(), prefixes: rt.prefixes, environment: rt.environment })

  return {
    async create(input, context) {
      await enforceGrantCeiling(rt, { action: 'create', input }, context)
      const fields = validateKeyInput(input, 'create', ctx())
      const created = await insertNew({
        prefix: fields.prefix!,
        environment: fields.environment as Environment,
        orgId: fields.orgId!,
        name: fields.name!,
        description: fields.description ?? null,
        projects: fields.projects!,
        scopes: fields.scopes!,
        allowedOrigins: fields.allowedOrigins ?? [],
        allowedIps: fields.allowedIps ?? [],
        rateLimit: fields.rateLimit ?? [],
        metadata: fields.metadata ?? {},
        expiresAt: fields.expiresAt ?? null,
        rotatedFrom: null,
      })
      audit('key.created', created.info, context)
      return created
    },

    async list(options) {
      if (typeof options?.orgId !== 'string' || options.orgId.length === 0) {
        throw new KeywardError('validation_failed', { message: 'Invalid list options', errors: [{ field: 'orgId', message: 'is required' }] })
      }
      const limit = options.limit
      if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000)) {
        throw new KeywardError('validation_failed', { message: 'Invalid list options', errors: [{ field: 'limit', message: 'must be an integer from 1 to 1000' }] })
      }
      const records = await storeCall(() =>
        rt.store.listByOrg(options.orgId, { includeRevoked: options.includeRevoked ?? false, ...(limit === undefined ? {} : { limit }), ...(options.after === undefined ? {} : { after: options.after }) }),
      )
      return records.map(toKeyInfo)
    },

    async get(id) {
      if (typeof id !== 'string' || !/^[0-9A-Za-z]{8}$/.test(id)) return null
      const record = await storeCall(() => rt.store.findById(id))
      return record === null ? null : toKeyInfo(record)
    },

    async update(id, patch, context) {
      await enforceGrantCeiling(rt, { action: 'update', id, patch }, context)
      await live(id)
      const fields = validateKeyInput(patch, 'update', ctx())
      const info = toKeyInfo(await change(id, { ...fields, updatedAt: rt.now() }))
      audit('key.updated', info, context)
      return info
    },

    async revoke(id, context) {
      checkId(id)
      const record = await storeCall(() => rt.store.findById(id))
      if (record === null) throw notFound()
      if (record.revokedAt !== null) {
        // A retry after a revocation reported failed but applied: make sure nothing cached outlives it.
        rt.cache.invalidate(id)
        return toKeyInfo(record)
      }
      const now = rt.now()
      const info = toKeyInfo(await change(id, { revokedAt: now, updatedAt: now }))
      audit('key.revoked', info, context)
      return info
    },

    async rotate(id, options = {}, context) {
      if (options === null || typeof options !== 'object') {
        throw new KeywardError('validation_failed', { message: 'Invalid rotate options', errors: [{ field: '(options)', message: 'must be an object' }] })
      }
      const grace = options.gracePeriodMs ?? 0
      if (!Number.isSafeInteger(grace) || grace < 0 || grace > MAX_GRACE_MS) {
        throw new KeywardError('validation_failed', { message: 'Invalid rotate options', errors: [{ field: 'gracePeriodMs', message: 'must be an integer from 0 to 30 days in ms' }] })
      }
      await enforceGrantCeiling(rt, { action: 'rotate', id }, context)
      const old = await live(id)
      const now = rt.now()
      // The new key first: if this process dies in between, the old key still works and the
      // new one, never shown to anyone, is harmless.
      const created = await insertNew({
        prefix: old.prefix,
        environment: old.environment,
        orgId: old.orgId,
        name: old.name,
        description: old.description,
        projects: old.projects,
        scopes: old.scopes,
        allowedOrigins: old.allowedOrigins,
        allowedIps: old.allowedIps,
        rateLimit: old.rateLimit,
        metadata: old.metadata,
        expiresAt: old.expiresAt,
        rotatedFrom: old.id,
      })
      const patch: KeyRecordPatch =
        grace === 0
          ? { revokedAt: now, updatedAt: now, rotatedTo: created.info.id }
          : { expiresAt: Math.min(old.expiresAt ?? Infinity, now + grace), updatedAt: now, rotatedTo: created.info.id }
      const retired = toKeyInfo(await change(id, patch))
      audit('key.rotated', retired, context, created.info.id)
      return created
    },
  }
}
