import { KeywardError } from '../errors.js'
import { actorOf, checkActionContext, keepAlive, type ActionContext, type Emit, type KeywardEventType } from '../events.js'
import { enforceCreateCeiling, enforceCreditCeiling, enforceRecordCeiling } from './grant-ceiling.js'
import { digestToHex } from './hashing.js'
import { validateKeyInput, type CreateKeyInput, type UpdateKeyInput } from './input.js'
import { creditsInfo, toKeyInfo } from './info.js'
import { activeCredits, BALANCE_OVERFLOW } from '../limiters/credits.js'
import { keySettings } from './record-codec.js'
import type { SettingField } from './record-fields.js'
import { generateKey } from './format.js'
import { reportLeakedKey, type LeakReport, type ReportLeakedOptions } from './leak-report.js'
import type { Runtime } from '../runtime.js'
import { warnCreditsPerProcess } from '../verify/credits-per-process.js'
import type { KeyRecordPatch } from '../stores/token-store.js'
import type { CreditsInfo, KeyCredits, KeyInfo, KeyRecord } from '../types.js'

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
 * Options of `kw.keys.get()`.
 *
 * @example
 * ```ts
 * await kw.keys.get(id, { credits: 'configured' }) // no limiter call
 * ```
 */
export interface GetKeyOptions {
  /** `live` (default): a key's credit balance read from the limiter. `configured`: the balance last set, from the store alone. */
  credits?: 'live' | 'configured'
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
 * Options of `kw.keys.revoke()`.
 *
 * @example
 * ```ts
 * // A stolen key may have been rotated by the thief: end the whole chain.
 * await kw.keys.revoke(id, { successors: true })
 * ```
 */
export interface RevokeOptions {
  /**
   * Also revoke every key rotated from this one, following `rotatedTo` to the end of the chain,
   * so a stolen key that rotated itself cannot outlive its revocation. Default false: only this key.
   */
  successors?: boolean
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
  /** `credits.remaining` is the balance last set (reading each live balance would cost a limiter call per key). */
  list(options: ListKeysOptions): Promise<KeyInfo[]>
  /**
   * For a key with credits, `credits.remaining` is the live balance, read from the limiter (a
   * limiter failure rejects with 503); `{ credits: 'configured' }` reads the store alone and shows
   * the balance last set.
   */
  get(id: string, options?: GetKeyOptions): Promise<KeyInfo | null>
  /**
   * `{ credits: { remaining, refill? } }` sets a new balance; `{ credits: { add } }` tops it up
   * atomically in the limiter, alone with no record write (a 503 may or may not have added: read
   * the balance before retrying; one that would take the balance past 2^53 − 1 is 400 `validation_failed` with nothing
   * added or written, see docs/credits.md); `{ credits: null }` removes them. The info answered
   * shows the live balance when credits changed.
   */
  update(id: string, patch: UpdateKeyInput, context?: ActionContext): Promise<KeyInfo>
  /** Resolves with this key's info, revoked. With `{ successors: true }`, its successors are revoked too (each audited). */
  revoke(id: string, options?: RevokeOptions, context?: ActionContext): Promise<KeyInfo>
  /** @deprecated The context is now the third argument: `revoke(id, {}, context)`. Still accepted. */
  revoke(id: string, context: ActionContext): Promise<KeyInfo>
  rotate(id: string, options?: RotateOptions, context?: ActionContext): Promise<CreatedKey>
  /**
   * A full key found where it should not be: when it is one of ours (checked as `verify()` checks
   * it), revoke it (or, with `{ revoke: false }`, only flag it) and emit `key.leaked`. Anything
   * else is `{ ours: false }` and changes nothing. A store failure rejects with 503.
   */
  reportLeaked(key: string, options?: ReportLeakedOptions, context?: ActionContext): Promise<LeakReport>
}

const MAX_GRACE_MS = 30 * 24 * 3_600_000
const ID_ATTEMPTS = 5
/** Writes lost to a concurrent change are re-read and retried this many times in all. */
const WRITE_ATTEMPTS = 5
/** A rotation chain longer than this is cut short (a corrupted store could make a cycle). */
const MAX_CHAIN = 10_000

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

/** Every attempt lost to another change of the same key: a 503 to retry, never a half-done change. */
function contended(): KeywardError {
  return new KeywardError('store_unavailable', { message: 'The key was changed concurrently too often; try again', retryAfter: 1 })
}

/** Without a version the store cannot write conditionally, and concurrent changes could both land. */
function checkVersion(record: KeyRecord): KeyRecord {
  if (!Number.isSafeInteger(record.version)) {
    throw unavailable(
      new TypeError(
        'keyward: the store returned a key record without an integer version, so it cannot make conditional writes (see TokenStore.update)',
      ),
    )
  }
  return record
}

const CONTEXT_FIELDS = ['actor', 'ip', 'waitUntil', 'auth', 'callerProjects'] as const

function revokeArguments(second: unknown, third: ActionContext | undefined): [RevokeOptions, ActionContext | undefined] {
  if (second === undefined || second === null) return [{}, third]
  const invalid = (field: string, message: string) =>
    new KeywardError('validation_failed', { message: 'Invalid revoke options', errors: [{ field, message }] })
  if (typeof second !== 'object' || Array.isArray(second)) throw invalid('(options)', 'must be an object')
  // The audit context used to be the second argument: still understood there, whichever of its
  // fields it carries (a lone `{ auth }` read as options was a 400 "unknown option").
  if (third === undefined && CONTEXT_FIELDS.some((field) => field in second) && !('successors' in second))
    return [{}, second as ActionContext]
  const unknown = Object.keys(second).find((k) => k !== 'successors')
  if (unknown !== undefined) throw invalid(unknown, 'unknown option')
  const { successors } = second as RevokeOptions
  if (successors !== undefined && typeof successors !== 'boolean') throw invalid('successors', 'must be a boolean')
  return [{ successors: successors === true }, third]
}

const OVERFLOW = `the balance would pass ${Number.MAX_SAFE_INTEGER}, the largest a credit balance can hold`

function invalidTopUp(message: string): KeywardError {
  return new KeywardError('validation_failed', { message: 'Invalid key input: credits.add', errors: [{ field: 'credits.add', message }] })
}

/** Credits on a limiter that cannot spend them would let the key pass free, or never: refused up front. */
function requireCreditLimiter(rt: Runtime): void {
  if (rt.limiterSpendsCredits) return
  throw new KeywardError('validation_failed', {
    message: 'Invalid key input: credits',
    errors: [
      {
        field: 'credits',
        message:
          "this server's limiter cannot spend credits (limiter.credits is not true): " +
          'use MemoryRateLimiter, RedisRateLimiter or DurableObjectRateLimiter',
      },
    ],
  })
}

/**
 * The epoch of a balance set (or removed) now: one above the record's last, removals included,
 * so the limiter takes it once and no stale record can go back to an older one. A counter, not a
 * time: instances whose clocks disagree cannot make a set look older than the last.
 */
function nextEpoch(previous: KeyCredits | null): number {
  return previous === null ? 1 : previous.epoch + 1
}

function withEpoch(credits: CreditsInfo, epoch: number): KeyCredits {
  return { remaining: credits.remaining, refill: credits.refill, epoch }
}

/** Removed credits keep their epoch (see {@link KeyCredits.removed}); a key that never had any stays null. */
function removedCredits(previous: KeyCredits | null): KeyCredits | null {
  if (previous === null || previous.removed === true) return previous
  return { remaining: previous.remaining, refill: previous.refill, epoch: previous.epoch + 1, removed: true }
}

/** Where the limiter keeps a key's balance: under its rotation chain's first id, as its quota. */
function limiterKey(record: KeyRecord): string {
  return typeof record.rootId === 'string' ? record.rootId : record.id
}

function checkId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || !/^[0-9A-Za-z]{8}$/.test(id)) {
    throw new KeywardError('validation_failed', {
      message: 'Invalid key id',
      errors: [{ field: 'id', message: 'must be an 8-character key id' }],
    })
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
// What a caller that spends credits may still change on a key that spends none: nothing that carries power.
const DESCRIPTIVE_FIELDS = new Set(['name', 'description', 'metadata'])

export function createKeyManager(rt: Runtime, emit?: Emit): KeyManager {
  // Audit after the change is stored: an event never reports what did not happen.
  function audit(type: KeywardEventType, info: KeyInfo, context: ActionContext | undefined, rotatedTo?: string): void {
    if (emit === undefined) return
    // On Workers an async hook would be cut off with the response: the platform keeps it alive.
    const pending = emit({
      type,
      keyId: info.id,
      org: info.orgId,
      ...(rotatedTo === undefined ? {} : { rotatedTo }),
      ...(context?.actor !== undefined
        ? { actor: { ...context.actor } }
        : context?.auth !== undefined
          ? { actor: actorOf(context.auth) }
          : {}),
      ...(context?.ip === undefined ? {} : { ip: context.ip }),
    })
    keepAlive(pending, context?.waitUntil, rt.reportError)
  }

  async function insertNew(fields: Pick<KeyRecord, SettingField | 'rotatedFrom' | 'rootId'>): Promise<CreatedKey> {
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
        version: 0,
      }
      if (await storeCall(() => rt.store.insert(record))) {
        rt.cache.invalidate(keyId)
        return { key, info: toKeyInfo(record) }
      }
    }
    throw new KeywardError('store_unavailable', { message: 'Could not allocate a unique key id' })
  }

  /** Writes `patch` if the record is still at `version` (any version when omitted); null when it is not. */
  async function change(id: string, patch: KeyRecordPatch, version?: number): Promise<KeyRecord | null> {
    try {
      return await storeCall(() =>
        version === undefined ? rt.store.update(id, patch) : rt.store.update(id, patch, { ifVersion: version }),
      )
    } finally {
      // Also when the store reports a failure: the change may have been applied all the same
      // (a timeout after the commit, a dropped connection), and a stale cached record would
      // keep a revoked key working here until the cache expires.
      rt.cache.invalidate(id)
    }
  }

  // Only a key that still works on its own may be changed or rotated: otherwise `update` could
  // lift the expiry a rotation's grace period set, and bring a retired key back to life.
  async function live(id: string): Promise<KeyRecord> {
    checkId(id)
    const record = await storeCall(() => rt.store.findById(id))
    if (
      record === null ||
      record.revokedAt !== null ||
      record.rotatedTo !== null ||
      (record.expiresAt !== null && record.expiresAt <= rt.now())
    ) {
      throw notFound()
    }
    return checkVersion(record)
  }

  // Revokes one key, written only over the version read: a rotation that lands first is seen on
  // the re-read (its `rotatedTo` then followed by `revokeChain`), one that comes after loses.
  async function revokeOne(id: string, context: ActionContext | undefined): Promise<KeyRecord> {
    for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
      const record = await storeCall(() => rt.store.findById(id))
      if (record === null) throw notFound()
      if (record.revokedAt !== null) {
        // A retry after a revocation reported failed but applied: make sure nothing cached outlives it.
        rt.cache.invalidate(id)
        return record
      }
      checkVersion(record)
      const now = rt.now()
      const revoked = await change(id, { revokedAt: now, updatedAt: now }, record.version)
      if (revoked !== null) {
        audit('key.revoked', toKeyInfo(revoked), context)
        return revoked
      }
    }
    throw contended()
  }

  // A revoked key can no longer be rotated, so once a link is revoked its `rotatedTo` is final:
  // walking the chain link by link, revoking each before reading the next, misses nothing.
  async function revokeChain(id: string, context: ActionContext | undefined): Promise<KeyRecord> {
    const first = await revokeOne(id, context)
    const seen = new Set([id])
    let next = first.rotatedTo
    while (next !== null && !seen.has(next) && seen.size < MAX_CHAIN) {
      seen.add(next)
      let link: KeyRecord
      try {
        link = await revokeOne(next, context)
      } catch (error) {
        // A successor id that names no record (deleted by hand): the chain ends there.
        if (error instanceof KeywardError && error.code === 'not_found') break
        throw error
      }
      next = link.rotatedTo
    }
    return first
  }

  const ctx = () => ({ now: rt.now(), prefixes: rt.prefixes, environment: rt.environment })
  // The running balance in the limiter, `add` added (0 reads). A failure is a 503: no made-up balance.
  const balance = (record: KeyRecord, credits: KeyCredits, add: number) =>
    storeCall(() => rt.limiter.adjustCredits!({ key: limiterKey(record), credits, add, now: rt.now() }))
  // A top-up: as balance(), but the limiter's refusal of an overflow (nothing added) is a 400 validation_failed.
  const addTo = async (record: KeyRecord, credits: KeyCredits, add: number) => {
    try {
      return await rt.limiter.adjustCredits!({ key: limiterKey(record), credits, add, now: rt.now() })
    } catch (cause) {
      if (cause instanceof Error && cause.message.includes(BALANCE_OVERFLOW)) throw invalidTopUp(OVERFLOW)
      throw unavailable(cause)
    }
  }
  const revokeFor = async (id: string, options: { successors: boolean }, context: ActionContext | undefined) =>
    toKeyInfo(options.successors ? await revokeChain(id, context) : await revokeOne(id, context))

  return {
    async create(input, context) {
      checkActionContext(context)
      enforceCreateCeiling(rt, input, context)
      const { credits, creditsAdd: _, ...fields } = validateKeyInput(input, 'create', ctx())
      if (credits !== undefined && credits !== null) {
        requireCreditLimiter(rt)
        warnCreditsPerProcess(rt)
      }
      const withCredits = { ...fields, credits: credits === undefined || credits === null ? null : withEpoch(credits, nextEpoch(null)) }
      // Omitted optional settings start empty (no origins, no IPs, no expiry, no credits...).
      const created = await insertNew({ ...keySettings(withCredits), rotatedFrom: null, rootId: null })
      audit('key.created', created.info, context)
      return created
    },

    async list(options) {
      if (typeof options?.orgId !== 'string' || options.orgId.length === 0) {
        throw new KeywardError('validation_failed', {
          message: 'Invalid list options',
          errors: [{ field: 'orgId', message: 'is required' }],
        })
      }
      const limit = options.limit
      if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000)) {
        throw new KeywardError('validation_failed', {
          message: 'Invalid list options',
          errors: [{ field: 'limit', message: 'must be an integer from 1 to 1000' }],
        })
      }
      const records = await storeCall(() =>
        rt.store.listByOrg(options.orgId, {
          includeRevoked: options.includeRevoked ?? false,
          ...(limit === undefined ? {} : { limit }),
          ...(options.after === undefined ? {} : { after: options.after }),
        }),
      )
      return records.map(toKeyInfo)
    },

    async get(id, options) {
      const mode = options?.credits ?? 'live'
      if (mode !== 'live' && mode !== 'configured') {
        throw new KeywardError('validation_failed', {
          message: 'Invalid get options',
          errors: [{ field: 'credits', message: "must be 'live' or 'configured'" }],
        })
      }
      if (typeof id !== 'string' || !/^[0-9A-Za-z]{8}$/.test(id)) return null
      const record = await storeCall(() => rt.store.findById(id))
      if (record === null) return null
      const info = toKeyInfo(record)
      const credits = activeCredits(record.credits)
      // Without a limiter that holds credits there is no live balance: the one set is all there is.
      if (credits !== null && mode === 'live' && rt.limiterSpendsCredits)
        info.credits = creditsInfo(credits, await balance(record, credits, 0))
      return info
    },

    async update(id, patch, context) {
      checkActionContext(context)
      let fields: ReturnType<typeof validateKeyInput> | undefined
      // Written only over the version read: a rotation or revocation that lands in between makes
      // this write lose, and the re-read then finds the key no longer live (not_found).
      for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
        const current = await live(id)
        fields ??= validateKeyInput(patch, 'update', ctx())
        const { credits, creditsAdd, ...rest } = fields
        if ((credits !== undefined && credits !== null) || creditsAdd !== undefined) {
          requireCreditLimiter(rt)
          warnCreditsPerProcess(rt)
        }
        const held = current.credits ?? null
        // The ceiling first: an answer about the key (has it credits?) only for a caller who may act on it.
        enforceRecordCeiling(rt, context, current, rest)
        if (credits !== undefined || creditsAdd !== undefined) enforceCreditCeiling(context, current, 'change')
        else if (Object.keys(rest).some((field) => !DESCRIPTIVE_FIELDS.has(field))) enforceCreditCeiling(context, current, 'empower')
        const topUp = creditsAdd === undefined ? null : activeCredits(held)
        if (creditsAdd !== undefined && topUp === null) throw invalidTopUp('the key has no credits to top up: set { remaining } first')
        // A balance past 2^53 cannot be counted exactly: refused (400 validation_failed) before anything is written.
        if (topUp !== null && !Number.isSafeInteger((await balance(current, topUp, 0)) + creditsAdd!)) throw invalidTopUp(OVERFLOW)
        // A top-up alone is the limiter's one atomic step, with no record write, so that the
        // limiter's refusal of a top-up that a concurrent one made overflow leaves nothing written
        // either (400). Checked on the record as read (live, within the caller's ceiling), it
        // counts as made then: a revocation or rotation after that read comes after it.
        // validateKeyInput refuses a top-up with other changes; never write them and drop it.
        if (topUp !== null && Object.keys(rest).length > 0) throw new TypeError('keyward: a top-up came with other changes')
        if (topUp !== null) {
          const info = toKeyInfo(current)
          info.credits = creditsInfo(topUp, await addTo(current, topUp, creditsAdd!))
          audit('key.updated', info, context)
          return info
        }
        const now = rt.now()
        const changes: KeyRecordPatch = { ...rest, updatedAt: now }
        if (credits !== undefined) changes.credits = credits === null ? removedCredits(held) : withEpoch(credits, nextEpoch(held))
        // Through the version: a key revoked or rotated meanwhile is not changed. (A top-up never
        // comes with other changes: validateKeyInput refuses that.)
        const updated = await change(id, changes, current.version)
        if (updated !== null) {
          const info = toKeyInfo(updated)
          audit('key.updated', info, context)
          return info
        }
      }
      throw contended()
    },

    async revoke(id: string, second?: RevokeOptions | ActionContext, third?: ActionContext) {
      const [options, context] = revokeArguments(second, third)
      checkActionContext(context)
      checkId(id)
      return toKeyInfo(options.successors === true ? await revokeChain(id, context) : await revokeOne(id, context))
    },

    async rotate(id, options = {}, context) {
      checkActionContext(context)
      if (options === null || typeof options !== 'object') {
        throw new KeywardError('validation_failed', {
          message: 'Invalid rotate options',
          errors: [{ field: '(options)', message: 'must be an object' }],
        })
      }
      const grace = options.gracePeriodMs ?? 0
      if (!Number.isSafeInteger(grace) || grace < 0 || grace > MAX_GRACE_MS) {
        throw new KeywardError('validation_failed', {
          message: 'Invalid rotate options',
          errors: [{ field: 'gracePeriodMs', message: 'must be an integer from 0 to 30 days in ms' }],
        })
      }
      for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
        const old = await live(id)
        enforceRecordCeiling(rt, context, old)
        enforceCreditCeiling(context, old, 'rotate')
        const now = rt.now()
        // The new key first: if this process dies in between, the old key still works and the
        // new one, never shown to anyone, is harmless.
        // Every setting carries over (table-driven, so a new restriction cannot be forgotten here).
        const created = await insertNew({
          ...keySettings(old),
          rotatedFrom: old.id,
          // Pre-upgrade records have no root: their own id is their chain's start.
          rootId: old.rootId ?? old.id,
        })
        const patch: KeyRecordPatch =
          grace === 0
            ? { revokedAt: now, updatedAt: now, rotatedTo: created.info.id }
            : { expiresAt: Math.min(old.expiresAt ?? Infinity, now + grace), updatedAt: now, rotatedTo: created.info.id }
        // Retired only if nothing changed the key since it was read: of concurrent rotations one wins.
        const retired = await change(id, patch, old.version)
        if (retired !== null) {
          audit('key.rotated', toKeyInfo(retired), context, created.info.id)
          return created
        }
        // Lost to a concurrent change. The new key, shown to nobody, must never work; then the
        // key is read again: rotated or revoked meanwhile, it is not_found; updated, it is rotated anew.
        await change(created.info.id, { revokedAt: now, updatedAt: now })
      }
      throw contended()
    },

    reportLeaked(key, options, context) {
      return reportLeakedKey(rt, emit, revokeFor, key, options, context)
    },
  }
}
