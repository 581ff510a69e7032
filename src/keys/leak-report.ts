/**
 * A key reported as leaked (by a code host's secret scanner, a support ticket, a log search):
 * recognised the way `verify()` recognises a key, then revoked or only flagged, and announced.
 */
import { KeywardError } from '../errors.js'
import { checkActionContext, keepAlive, type ActionContext, type Emit } from '../events.js'
import { parseKey } from './format.js'
import { digestEqualsHex, DUMMY_HEX } from './hashing.js'
import { toKeyInfo } from './info.js'
import type { Runtime } from '../runtime.js'
import type { KeyInfo } from '../types.js'

/**
 * Options of `kw.keys.reportLeaked()`.
 *
 * @example
 * ```ts
 * await kw.keys.reportLeaked(token, { revoke: false, url: 'https://github.com/acme/app/blob/main/.env' })
 * ```
 */
export interface ReportLeakedOptions {
  /** Revoke the key (default true). False only flags it: the `key.leaked` event, nothing stored. */
  revoke?: boolean
  /**
   * Also revoke every key rotated from it (as `kw.keys.revoke(id, { successors: true })`), even
   * when it was already revoked. Default false.
   */
  successors?: boolean
  /** Where the key was found, for the event (a public URL: never the key). */
  url?: string
  /** What found it, for the event (`github`, `commit`, `npm`...). */
  source?: string
}

/**
 * What `kw.keys.reportLeaked()` found. `ours: false` for anything that is not a key this
 * instance issued (malformed, foreign prefix, bad checksum, unknown id, wrong secret).
 *
 * @example
 * ```ts
 * const report: LeakReport = await kw.keys.reportLeaked(token)
 * if (report.ours) console.log(report.action, report.info.id)
 * ```
 */
export type LeakReport =
  | { ours: false }
  | {
      ours: true
      /** `revoked` now; `flagged` (the `revoke: false` option); `already_revoked` before this report. */
      action: 'revoked' | 'flagged' | 'already_revoked'
      /** The key as it stands after the report. */
      info: KeyInfo
    }

const REPORT_KEYS = new Set(['revoke', 'successors', 'url', 'source'])

function invalid(field: string, message: string): KeywardError {
  return new KeywardError('validation_failed', { message: 'Invalid leak report', errors: [{ field, message }] })
}

function checkReportOptions(options: ReportLeakedOptions): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw invalid('(options)', 'must be an object')
  for (const name of Object.keys(options)) if (!REPORT_KEYS.has(name)) throw invalid(name, 'unknown option')
  for (const name of ['revoke', 'successors'] as const)
    if (options[name] !== undefined && typeof options[name] !== 'boolean') throw invalid(name, 'must be a boolean')
  for (const name of ['url', 'source'] as const)
    if (options[name] !== undefined && (typeof options[name] !== 'string' || options[name].length > 2048))
      throw invalid(name, 'must be a string of at most 2048 characters')
}

/**
 * Reports one presented key as leaked. The store is read directly (never the cache: a leak is
 * acted on as the record stands now), and the hash compared in constant time exactly as
 * `verify()` compares it; an unknown id costs the same hash and comparison. A store failure is a
 * 503 `KeywardError`, and nothing is reported as not ours because of it.
 *
 * @example
 * ```ts
 * const report = await reportLeakedKey(rt, emit, keys.revoke, token, {}, undefined)
 * ```
 */
export async function reportLeakedKey(
  rt: Runtime,
  emit: Emit | undefined,
  revoke: (id: string, options: { successors: boolean }, context: ActionContext | undefined) => Promise<KeyInfo>,
  key: string,
  options: ReportLeakedOptions = {},
  context?: ActionContext,
): Promise<LeakReport> {
  checkReportOptions(options)
  checkActionContext(context)
  const parsed = typeof key === 'string' ? parseKey(key, rt.prefixes) : null
  if (parsed === null) return { ours: false }
  let record
  try {
    record = await rt.store.findById(parsed.keyId)
  } catch (cause) {
    throw new KeywardError('store_unavailable', { cause, retryAfter: 1 })
  }
  const digest = rt.hash(key)
  const matches =
    record === null ? (digestEqualsHex(digest, DUMMY_HEX), false) : digestEqualsHex(digest, record.hash) && record.prefix === parsed.prefix
  if (!matches || record === null) return { ours: false }
  let action: 'revoked' | 'flagged' | 'already_revoked'
  let info: KeyInfo
  if (record.revokedAt !== null) {
    action = 'already_revoked'
    // A revoked head says nothing of its successors: a key rotated with no grace period is revoked
    // at once, and the holder of the leaked key may hold the successor too. Walk the chain anyway.
    info =
      options.successors === true && options.revoke !== false ? await revoke(record.id, { successors: true }, context) : toKeyInfo(record)
  } else if (options.revoke === false) {
    action = 'flagged'
    info = toKeyInfo(record)
  } else {
    info = await revoke(record.id, { successors: options.successors === true }, context)
    action = 'revoked'
  }
  const pending = emit?.({
    type: 'key.leaked',
    keyId: info.id,
    org: info.orgId,
    leak: {
      action,
      ...(options.url === undefined ? {} : { url: options.url }),
      ...(options.source === undefined ? {} : { source: options.source }),
    },
    ...(context?.actor === undefined ? {} : { actor: { ...context.actor } }),
    ...(context?.ip === undefined ? {} : { ip: context.ip }),
  })
  keepAlive(pending, context?.waitUntil, rt.reportError)
  return { ours: true, action, info }
}
