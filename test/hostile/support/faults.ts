/**
 * Fault injection for the hostile suite: wrappers around a real TokenStore, RateLimiter, pg
 * client or ioredis client that, on command, reject, answer late, hang, or complete half of a
 * call (do the work, then report failure). The wrapped object does the real work otherwise.
 */
import type {
  BlockState,
  KeyRecord,
  KeyRecordPatch,
  LimitRequest,
  LimitResult,
  LockoutPolicy,
  RateLimiter,
  TokenStore,
  UpdateCondition,
} from 'keyward'

/**
 * - `reject`: the call fails at once.
 * - `late`: the call succeeds after `lateMs`, past any timeout under test.
 * - `hang`: the call never settles.
 * - `half`: the real call runs (and writes, if it writes), then the caller is told it failed.
 * - `torn`: reads only: a record comes back with a field of the wrong type (a torn or corrupt read).
 */
export type Fault = 'none' | 'reject' | 'late' | 'hang' | 'half' | 'torn'

/** Which fault the next calls get, per method name (`*` for all). */
export class FaultPlan {
  lateMs = 200
  calls = 0
  #faults = new Map<string, Fault>()

  set(method: string, fault: Fault): this {
    this.#faults.set(method, fault)
    return this
  }

  clear(): void {
    this.#faults.clear()
  }

  /** Runs `call` under the fault planned for `method`. `tear` corrupts a read for `torn`. */
  run<T>(method: string, call: () => Promise<T>, tear?: (value: T) => T): Promise<T> {
    this.calls++
    const fault = this.#faults.get(method) ?? this.#faults.get('*') ?? 'none'
    switch (fault) {
      case 'none':
        return call()
      case 'reject':
        return Promise.reject(new Error(`injected fault: ${method} refused`))
      case 'late':
        return new Promise((resolve) => setTimeout(resolve, this.lateMs)).then(call)
      case 'hang':
        return new Promise<T>(() => {})
      case 'half':
        return call().then(() => Promise.reject(new Error(`injected fault: ${method} done, then the connection dropped`)))
      case 'torn':
        return tear === undefined ? call() : call().then(tear)
    }
  }
}

/** A TokenStore that runs every call of `inner` through `plan`. */
export function faultyStore(inner: TokenStore, plan: FaultPlan): TokenStore {
  const tearRecord = (record: KeyRecord | null) =>
    record === null ? null : ({ ...record, expiresAt: '2099-01-01' } as unknown as KeyRecord)
  return {
    findById: (id) => plan.run('findById', () => inner.findById(id), tearRecord),
    insert: (record) => plan.run('insert', () => inner.insert(record)),
    update: (id, patch: KeyRecordPatch, condition?: UpdateCondition) => plan.run('update', () => inner.update(id, patch, condition)),
    listByOrg: (org, options) => plan.run('listByOrg', () => inner.listByOrg(org, options)),
    touch: (entries) => plan.run('touch', () => inner.touch(entries)),
  }
}

/** A RateLimiter that runs every call of `inner` through `plan`. */
export function faultyLimiter(inner: RateLimiter, plan: FaultPlan): RateLimiter {
  return {
    limit: (request: LimitRequest): Promise<LimitResult> => plan.run('limit', () => inner.limit(request)),
    recordFailure: (blockKey: string, policy: LockoutPolicy, now: number): Promise<BlockState> =>
      plan.run('recordFailure', () => inner.recordFailure(blockKey, policy, now)),
  }
}

/** A pg-style client (`query(text, params)`) that runs every query through `plan` as `query`. */
export function faultyQueryable(inner: { query(text: string, params?: unknown[]): Promise<{ rows: unknown[] }> }, plan: FaultPlan) {
  return { query: (text: string, params?: unknown[]) => plan.run('query', () => inner.query(text, params)) }
}

/** An ioredis-style script client that runs every script call through `plan` as `script`. */
export function faultyScriptClient(
  inner: {
    evalsha(...args: [string, number, ...string[]]): Promise<unknown>
    eval(...args: [string, number, ...string[]]): Promise<unknown>
  },
  plan: FaultPlan,
) {
  return {
    evalsha: (sha: string, numKeys: number, ...rest: string[]) => plan.run('script', () => inner.evalsha(sha, numKeys, ...rest)),
    eval: (source: string, numKeys: number, ...rest: string[]) => plan.run('script', () => inner.eval(source, numKeys, ...rest)),
  }
}

/** Collects unhandled rejections while installed; `stop()` uninstalls and returns them. */
export function watchUnhandledRejections(): { stop: () => unknown[] } {
  const seen: unknown[] = []
  const listener = (reason: unknown) => void seen.push(reason)
  process.on('unhandledRejection', listener)
  return {
    stop: () => {
      process.off('unhandledRejection', listener)
      return seen
    },
  }
}
