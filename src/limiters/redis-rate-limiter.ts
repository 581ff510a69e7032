import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js'
import { boolean, checkedElsewhere, checkOptions, numberAbove, optionError, type OptionRules } from '../internal/options.js'
import { withTimeout } from '../internal/timers.js'
import {
  isClusterClient,
  isScriptClient,
  redisScript,
  runScript,
  type AnyRedisScriptClient,
  type NodeRedisScriptClient,
  type RedisScript,
  type RedisScriptClient,
} from '../stores/redis-scripts.js'
import type { BlockState, LimitRequest, LimitResult, LockoutPolicy, RateLimiter, RuleState } from './rate-limiter.js'

export type { NodeRedisScriptClient, RedisScriptClient }

/**
 * Options of {@link RedisRateLimiter}.
 *
 * @example
 * ```ts
 * new RedisRateLimiter({ client: redis, prefix: 'myapp:kw:', timeoutMs: 100 })
 * ```
 */
export interface RedisRateLimiterOptions {
  /**
   * Your Redis client: ioredis (`new Redis(...)`, `new Redis.Cluster(...)`) or node-redis v4/v5
   * (`createClient(...)`, `createCluster(...)`, connected). keyward never closes it.
   */
  client: RedisScriptClient | NodeRedisScriptClient
  /** Prepended to every Redis key. Default `kw:`. Must not contain `{` or `}` (they would move the hash tag). */
  prefix?: string
  /** Every call rejects after this many ms (keyward then answers 503). Default 250. */
  timeoutMs?: number
  /**
   * Redis Cluster: the address's lockout key and the API key's quota keys live in different
   * slots (each check's quota keys share one, the key id's hash tag), and a script may only
   * touch one slot. So the lockout is checked by a first script and, when the address is not
   * blocked, the quota by a second: two round trips for a check that carries an address, and a
   * call the lockout refuses still counts on no quota. Default: true for an ioredis `Cluster`
   * (`isCluster`) or a node-redis cluster, else false, and one script does both.
   */
  cluster?: boolean
}

const NOT_A_CLIENT = 'RedisRateLimiter needs { client }, an ioredis or node-redis client (evalsha/evalSha and eval)'

const REDIS_LIMITER_OPTIONS: OptionRules = {
  // Checked in the constructor, with the message that says what a client is.
  client: checkedElsewhere,
  prefix: (value, path) => {
    if (typeof value !== 'string' || /[{}]/.test(value)) optionError(`${path} must be a string without { or }`)
  },
  timeoutMs: numberAbove(0, 'must be a positive number of ms'),
  cluster: boolean,
}

/**
 * One script for every check, so one EVALSHA per call. It reads Redis's clock (`TIME`), then
 * every state, decides, and only then writes: a failed read (a foreign or malformed value)
 * aborts it before any write, and Redis refuses an out-of-memory write only at a script's first
 * write, so no script stops between two writes. Numbers are IEEE doubles as in JavaScript and
 * every operation mirrors gcra.ts, so the decisions are the same, bit for bit. Reading TIME
 * before writing needs effects replication, the default since Redis 5 (the only mode in 7):
 * replicas get the writes, never a re-run of the script at another time.
 *
 * KEYS: one per rule, then the address's lockout window when ARGV[1] is '1'.
 * ARGV: '0' | '1', then limit and windowMs per rule.
 * Reply: { allowed, blocked, retryAfterMs, remaining1, resetMs1, remaining2, ... }.
 * Stored: rule `at:booked` (gcra.ts's GcraState), lockout `start:count:blockedUntil`.
 */
const LIMIT_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function int(x) return string.format('%.0f', x) end
local function ceildiv(a, b) if a <= 0 then return 0 end return math.ceil(a / b) end
local n = #KEYS
if ARGV[1] == '1' then
  local w = redis.call('GET', KEYS[n])
  n = n - 1
  if w then
    local blocked_until = tonumber(string.match(w, '^%d+:%d+:(%d+)$'))
    if blocked_until > now then return {0, 1, blocked_until - now} end
  end
end
local limits, windows, booked = {}, {}, {}
local allowed, retry = 1, 0
for i = 1, n do
  local limit, window = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local b = 0
  local s = redis.call('GET', KEYS[i])
  if s then
    local at, bk = string.match(s, '^(%d+):(%d+)$')
    local elapsed = now - tonumber(at)
    if elapsed >= window then b = 0
    elseif elapsed <= 0 then b = tonumber(bk)
    else b = math.max(0, tonumber(bk) - elapsed * limit) end
  end
  limits[i], windows[i], booked[i] = limit, window, b
  local tolerance = window * (limit - 1)
  if b > tolerance then
    allowed = 0
    retry = math.max(retry, ceildiv(b - tolerance, limit))
  end
end
local reply = {allowed, 0, retry}
for i = 1, n do
  local limit, window, b = limits[i], windows[i], booked[i]
  local tolerance = window * (limit - 1)
  if allowed == 1 then
    local reset = ceildiv(b + window, limit)
    redis.call('SET', KEYS[i], int(now) .. ':' .. int(b + window), 'PX', int(reset))
    reply[#reply + 1] = math.floor((tolerance - b) / window)
    reply[#reply + 1] = reset
  elseif b > tolerance then
    reply[#reply + 1] = 0
    reply[#reply + 1] = ceildiv(b, limit)
  else
    reply[#reply + 1] = math.floor((window * limit - b) / window)
    reply[#reply + 1] = ceildiv(b, limit)
  end
end
return reply
`

/**
 * Counts one failure in the address's fixed window (from its first failure), as
 * MemoryRateLimiter does. KEYS: the lockout window. ARGV: maxFailures, windowMs.
 * Reply: { blocked, retryAfterMs, failures in the window with this one }.
 */
const FAILURE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function int(x) return string.format('%.0f', x) end
local max, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local start, count, blocked_until = now, 0, 0
local w = redis.call('GET', KEYS[1])
if w then
  local s, c, u = string.match(w, '^(%d+):(%d+):(%d+)$')
  s = tonumber(s)
  if now < s + window then start, count, blocked_until = s, tonumber(c), tonumber(u) end
end
count = count + 1
if count >= max then blocked_until = start + window end
redis.call('SET', KEYS[1], int(start) .. ':' .. int(count) .. ':' .. int(blocked_until), 'PX', int(math.min(window, start + window - now)))
if blocked_until > now then return {1, blocked_until - now, count} end
return {0, 0, count}
`

let scripts: { limit: RedisScript; failure: RedisScript } | undefined
function loadScripts() {
  return (scripts ??= { limit: redisScript(LIMIT_SCRIPT), failure: redisScript(FAILURE_SCRIPT) })
}

const DIGEST_CACHE_SIZE = 4096

/**
 * GCRA quotas and lockout windows in Redis, shared by every instance of your server.
 *
 * - One round trip per check: a single EVALSHA (EVAL when Redis answers NOSCRIPT, after a
 *   restart or `SCRIPT FLUSH`), deciding and counting all of a key's rules atomically, with the
 *   address's lockout checked in the same script.
 * - Time is Redis's own (`TIME` inside the script): instance clocks do not matter, and `now`
 *   in the request is ignored.
 * - Decisions are exactly those of `gcra()` and MemoryRateLimiter at Redis's clock: the Lua
 *   does the same IEEE-double operations on the same integers.
 * - Every key is written with an expiry no longer than its rule's window (or lockout window),
 *   and named from a SHA-256 of the key id or address, never the value itself:
 *   `kw:rl:{<hash>}:<limit>:<windowMs>` and `kw:lo:{<hash>}`. The braces are a cluster hash tag,
 *   so one key's rules share a slot.
 * - Every call rejects after `timeoutMs` (default 250). A timeout cannot leave half a decision:
 *   the timeout only stops waiting for the reply, while Redis runs a script to its end before
 *   serving any other command (a script that has written cannot be killed, and an
 *   out-of-memory refusal can only hit its first write, before which it has written nothing).
 *   A timed-out call was thus applied to every rule or to none; it may still be applied after
 *   the rejection (counted, though answered 503). With ioredis's offline queue on (its
 *   default), calls made while disconnected are sent on reconnect, after keyward gave up on
 *   them: `enableOfflineQueue: false` makes them fail at once instead.
 * - Redis Cluster: an ioredis `Cluster` or node-redis cluster client is detected, and the
 *   lockout is then checked by a script of its own before the quota script; see
 *   {@link RedisRateLimiterOptions.cluster}.
 *
 * Wrap it in {@link withFailurePolicy} to choose what happens to quotas while Redis is down.
 *
 * @example
 * ```ts
 * import Redis from 'ioredis'
 * const limiter = new RedisRateLimiter({ client: new Redis(process.env.REDIS_URL!) })
 * const kw = createKeyward({ prefix: 'bsk', limiter })
 * ```
 */
export class RedisRateLimiter implements RateLimiter {
  readonly #client: AnyRedisScriptClient
  readonly #prefix: string
  readonly #timeoutMs: number
  readonly #cluster: boolean
  /** Digests of recent key ids and addresses: the same few come by again and again. Bounded. */
  readonly #digests = new Map<string, string>()

  constructor(options: RedisRateLimiterOptions) {
    checkOptions(options, REDIS_LIMITER_OPTIONS, { notObject: NOT_A_CLIENT })
    const { client, prefix = 'kw:', timeoutMs = 250 } = options
    if (!isScriptClient(client)) optionError(NOT_A_CLIENT)
    const cluster = options.cluster ?? isClusterClient(client)
    this.#client = client
    this.#prefix = prefix
    this.#timeoutMs = timeoutMs
    this.#cluster = cluster
    loadScripts()
  }

  /** Checks and counts one call; `request.now` is ignored (Redis's clock decides). */
  // async: a bad argument becomes a rejection like any other failure, never a synchronous throw.
  async limit({ key, rules, blockKey }: LimitRequest): Promise<LimitResult> {
    if (rules.length === 0 && blockKey === undefined) return { allowed: true, blocked: false, retryAfterMs: 0, rules: [] }
    const { limit } = loadScripts()
    const hash = this.#digest(key)
    const keys = rules.map((rule) => `${this.#prefix}rl:{${hash}}:${rule.limit}:${rule.windowMs}`)
    const args = rules.flatMap((rule) => [String(rule.limit), String(rule.windowMs)])
    if (blockKey === undefined) return this.#withTimeout(this.#run(limit, keys, ['0', ...args]).then((reply) => toResult(reply, rules)))
    const lockoutKey = this.#lockoutKey(blockKey)
    if (!this.#cluster || rules.length === 0) {
      return this.#withTimeout(this.#run(limit, [...keys, lockoutKey], ['1', ...args]).then((reply) => toResult(reply, rules)))
    }
    // Cluster: the address's slot, then the key's. One after the other, so that a call the
    // lockout refuses counts on no quota (the same decision as the one script on one server).
    return this.#withTimeout(
      this.#run(limit, [lockoutKey], ['1']).then(async (block) => {
        const blocked = toResult(block, [])
        return blocked.blocked ? blocked : toResult(await this.#run(limit, keys, ['0', ...args]), rules)
      }),
    )
  }

  /** Counts one failure in Redis; `now` is ignored (Redis's clock decides). */
  async recordFailure(blockKey: string, policy: LockoutPolicy, _now?: number): Promise<BlockState> {
    return this.#withTimeout(
      this.#run(loadScripts().failure, [this.#lockoutKey(blockKey)], [String(policy.maxFailures), String(policy.windowMs)]).then(
        (reply) => {
          const [blocked, retryAfterMs, failures] = integers(reply, 3)
          return blocked === 1
            ? { blocked: true, retryAfterMs: retryAfterMs!, failures: failures! }
            : { blocked: false, retryAfterMs: 0, failures: failures! }
        },
      ),
    )
  }

  #lockoutKey(blockKey: string): string {
    return `${this.#prefix}lo:{${this.#digest(blockKey)}}`
  }

  #digest(value: string): string {
    let hex = this.#digests.get(value)
    if (hex === undefined) {
      // Cheaper than an LRU, and as bounded: start afresh when full.
      if (this.#digests.size >= DIGEST_CACHE_SIZE) this.#digests.clear()
      hex = digest(value)
      this.#digests.set(value, hex)
    }
    return hex
  }

  /** EVALSHA, or EVAL when Redis forgot the script (restart, failover, SCRIPT FLUSH). */
  #run(script: RedisScript, keys: string[], args: string[]): Promise<unknown> {
    return runScript(this.#client, script, keys, args)
  }

  #withTimeout<T>(promise: Promise<T>): Promise<T> {
    return withTimeout(promise, this.#timeoutMs, 'Redis rate limiter')
  }
}

/** 128 bits of SHA-256, hex: the key id or address never reaches Redis as it is. */
function digest(value: string): string {
  return bytesToHex(sha256(utf8ToBytes(value)).subarray(0, 16))
}

/** The script's reply as integers; anything else is a broken backend (the call rejects). */
function integers(reply: unknown, length: number): number[] {
  if (!Array.isArray(reply) || reply.length !== length || !reply.every((n) => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0)) {
    throw new Error('keyward: unexpected reply from the Redis rate limiter script')
  }
  return reply as number[]
}

function toResult(reply: unknown, rules: LimitRequest['rules']): LimitResult {
  if (Array.isArray(reply) && reply[1] === 1) {
    const [, , retryAfterMs] = integers(reply, 3)
    return { allowed: false, blocked: true, retryAfterMs: retryAfterMs!, rules: [] }
  }
  const [allowed, , retryAfterMs, ...states] = integers(reply, 3 + 2 * rules.length)
  const ruleStates: RuleState[] = rules.map((rule, i) => ({ rule, remaining: states[2 * i]!, resetMs: states[2 * i + 1]! }))
  return { allowed: allowed === 1, blocked: false, retryAfterMs: retryAfterMs!, rules: ruleStates }
}
