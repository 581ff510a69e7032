import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js'
import { boolean, checkedElsewhere, checkOptions, numberAbove, optionError, type OptionRules } from '../internal/options.js'
import { DeadlineQueue, type PendingCall } from '../internal/deadline-queue.js'
import {
  isClusterClient,
  isNodeRedis,
  isNoScript,
  isScriptClient,
  redisScript,
  runScript,
  sendScript,
  type AnyRedisScriptClient,
  type NodeRedisScriptClient,
  type RedisScript,
  type RedisScriptClient,
} from '../stores/redis-scripts.js'
import type { KeyCredits, RateLimitAlgorithm, RateLimitRule } from '../types.js'
import { checkCreditAdjustment, checkCreditSpend } from './credit-checks.js'
import { checkPolicy } from './limiter-messages.js'
import type { BlockState, CreditAdjustment, LimitRequest, LimitResult, LockoutPolicy, RateLimiter, RuleState } from './rate-limiter.js'

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
 * One script for every check, so one EVALSHA per call. It reads every state, decides, and only
 * then writes: a failed read (a foreign or malformed value) aborts it before any write, and Redis
 * refuses an out-of-memory write only at a script's first write, so no script stops between two
 * writes. Numbers are IEEE doubles as in JavaScript and every operation mirrors gcra.ts, so the
 * decisions are the same, bit for bit. Writes after reading the clock need effects replication,
 * the default since Redis 5 (the only mode in 7): replicas get the writes, never a re-run.
 *
 * The clock is the keys' own expiry. Reading `TIME` costs a fifth of a one-rule check, so a
 * state is kept relative to its key's expiry and read with `PTTL`, and TIME is read only where
 * an absolute time is needed: a fixed window's first call (to align the window), a blocked
 * address, a sliding window, credits, a state an earlier keyward wrote, and a GCRA key whose
 * expiry must move while its bucket is not empty (below). A GCRA state is two doubles packed
 * with `struct` (16 bytes): `booked` (gcra.ts) and `ref`, the key's remaining life (PTTL) at
 * the call that wrote it, so the time since that call is `ref - PTTL`, exactly, in Redis's
 * milliseconds. A missing key needs no clock (an empty bucket is the same at any instant). The
 * expiry is kept (SET KEEPTTL, half the cost of SET PX) while it outlives the bucket and is at
 * most a window away, with `ref` the PTTL just read; else it is set to a whole window. With an
 * empty bucket that is SET PX: the call is decided at the SET's own instant, where the bucket is
 * empty too. With a non-empty one, the expiry must be exactly one window after the instant the
 * call was decided at, but Redis 7.0 and earlier read their clock afresh for each command (PTTL,
 * SET PX; 7.2 once per script), so the script reads TIME, PTTL, TIME until both TIMEs fall in
 * one millisecond, decides at that millisecond and writes the expiry absolutely (PEXPIREAT):
 * about once a window for a key kept busy. The key lives at least until its bucket is empty and
 * never longer than one window past a write. A fixed window stores its count alone (8 bytes),
 * its key expiring exactly at the window's end (PEXPIREAT, from the window's first call): a
 * present key's PTTL is the time left in its window. A PTTL of 0 (Redis 7.0 and earlier: the key
 * expired while the script ran) is read as no key. Decisions of one script on several rules are
 * each exact at the instant its own state was read (one instant per script on Redis 7.2+).
 *
 * KEYS: one per rule, then the address's lockout window when ARGV[1] is '1'.
 * ARGV: '0' | '1', then limit, windowMs and algorithm ('g' GCRA, 'f' fixed-window, 's'
 * sliding-window) per rule. Each algorithm mirrors its TypeScript twin (gcra.ts,
 * fixed-window.ts, sliding-window.ts) operation for operation.
 * Reply: { allowed, blocked, retryAfterMs, remaining1, resetMs1, remaining2, ... }.
 * Short path: KEYS the rule's key, then the lockout window if any; ARGV limit, windowMs (GCRA) or
 * limit, windowMs, 'f' (fixed window). Reply: an allowed call's remaining * (windowMs + 1) +
 * resetMs as one integer (when limit * (windowMs + 1) <= 2^53, so it is exact), else as above.
 * Stored: a GCRA rule struct 'dd' (booked, ref); a fixed window struct 'd' (count), expiring at
 * the window's end; sliding-window the counted calls' times, packed doubles, expiring a window
 * after the newest; lockout `start:count:blockedUntil`. Read, then replaced when a call is
 * counted: what earlier keywards stored, GCRA struct 'ddd' (at, booked, expiresAt) or text
 * `at:booked`, fixed window struct 'dd' (start, count). An earlier keyward refuses (an error,
 * so 503) the formats this one writes.
 *
 * Written for Redis CPU (INFO commandstats, bench/redis-limiter.bench.ts,
 * bench/redis-limiter-cost.ts): three redis.call()s for one rule (GET, PTTL, SET), and on the
 * short path (one GCRA or fixed-window rule, the common case) no closures, tables or function
 * calls beyond them.
 */
// The script in parts: the credit script is the same decision with the key's balance read
// before the rules, refused after them, and written after them.
const SCRIPT_NOW = `
local t = redis.call('TIME')
-- x - x % 1 is math.floor(x), exactly, without a function call (x % 1 is x - floor(x), exact for a double).
local us = t[2] / 1000
local now = t[1] * 1000 + (us - us % 1)
`
// The general path's clock: read (TIME) once, and only by a decision that needs it.
const SCRIPT_CLOCK = `local now
local function clock()
  if not now then
    local t = redis.call('TIME')
    now = t[1] * 1000 + math.floor(t[2] / 1000)
  end
  return now
end
`
// Never taken by the credit script: its calls always carry a flag, rules and five credit arguments.
const SCRIPT_SHORT_PATH = `-- The short path: one GCRA rule (ARGV: limit, windowMs) or one fixed-window rule (limit,
-- windowMs, 'f'), and the lockout window as KEYS[2] when the call carries an address. Inline, no
-- closures or tables, and an integer reply, remaining * (windowMs + 1) + resetMs, when the call is
-- allowed. The general path below never has two or three arguments (a flag, then three per rule).
local argc = #ARGV
if argc == 2 or argc == 3 then
  if KEYS[2] then
    local w = redis.call('GET', KEYS[2])
    if w then
      local blocked_until = tonumber(string.match(w, '^%d+:%d+:(%d+)$'))
      if not blocked_until then error('keyward: malformed lockout state') end
      -- 0 until the address is blocked in this window: only then is the clock needed.
      if blocked_until > 0 then
        local t = redis.call('TIME')
        local now = t[1] * 1000 + math.floor(t[2] / 1000)
        if blocked_until > now then return {0, 1, blocked_until - now} end
      end
    end
  end
end
if argc == 2 then
  local limit, window = ARGV[1] + 0, ARGV[2] + 0
  -- b: units booked at this call (gcra.ts bookedAt); r: the key's remaining life when it holds
  -- this format (else -1); now: the call's epoch ms, read only where an absolute time is needed.
  local b, r, bk, ref, now = 0, -1, -1, 0, nil
  local s = redis.call('GET', KEYS[1])
  if s then
    -- Packed first. An earlier keyward's text at:booked may be 16 characters long too, but its last
    -- 8 read as a double are below 1e-27, never a ref (at least 1 ms).
    if #s == 16 then bk, ref = struct.unpack('dd', s) end
    local elapsed
    if ref >= 1 then
      if not (bk >= 0 and bk <= window * limit and ref <= window) then error('keyward: malformed rate limit state') end
      r = redis.call('PTTL', KEYS[1])
      -- -1: no expiry, so not a state this script wrote.
      if r < 0 then error('keyward: malformed rate limit state') end
      elapsed = ref - r
    else
      -- An earlier keyward's state, read at Redis's clock and replaced if the call is counted.
      local at = -1
      if #s == 24 then at, bk = struct.unpack('ddd', s) end
      if not (at >= 1) then
        local ta, tb = string.match(s, '^(%d+):(%d+)$')
        if not ta then error('keyward: malformed rate limit state') end
        at, bk = ta + 0, tb + 0
      end
      if not (at >= 0 and bk >= 0 and bk <= window * limit) then error('keyward: malformed rate limit state') end
      local t = redis.call('TIME')
      now = t[1] * 1000 + math.floor(t[2] / 1000)
      elapsed = now - at
    end
    if elapsed <= 0 then b = bk
    elseif elapsed < window then
      b = bk - elapsed * limit
      if b < 0 then b = 0 end
    end
  end
  local tolerance = window * (limit - 1)
  if b > tolerance then return {0, 0, math.ceil((b - tolerance) / limit), 0, math.ceil(b / limit)} end
  local next = b + window
  -- math.ceil(next / limit), as x + (-x % 1).
  local reset = next / limit
  reset = reset + (-reset) % 1
  if r >= reset and r <= window then redis.call('SET', KEYS[1], struct.pack('dd', next, r), 'KEEPTTL')
  elseif b == 0 then redis.call('SET', KEYS[1], struct.pack('dd', window, window), 'PX', ARGV[2])
  else
    if not now then
      -- The expiry moves while the bucket is not empty: decided again at a millisecond both TIMEs
      -- agree on (PTTL read within it), and the expiry written absolutely.
      for _ = 1, 10 do
        local t1 = redis.call('TIME')
        r = redis.call('PTTL', KEYS[1])
        local t2 = redis.call('TIME')
        now = t1[1] * 1000 + math.floor(t1[2] / 1000)
        if now == t2[1] * 1000 + math.floor(t2[2] / 1000) then break end
        now = nil
      end
      if not now then error('keyward: Redis clock did not settle') end
      local elapsed = ref - r
      b = 0
      if elapsed <= 0 then b = bk
      elseif elapsed < window then
        b = bk - elapsed * limit
        if b < 0 then b = 0 end
      end
      if b > tolerance then return {0, 0, math.ceil((b - tolerance) / limit), 0, math.ceil(b / limit)} end
      next = b + window
      reset = next / limit
      reset = reset + (-reset) % 1
    end
    redis.call('SET', KEYS[1], struct.pack('dd', next, window))
    redis.call('PEXPIREAT', KEYS[1], now + window)
  end
  local remaining = (tolerance - b) / window
  remaining = remaining - remaining % 1
  if limit * (window + 1) <= 9007199254740992 then return remaining * (window + 1) + reset end
  return {1, 0, 0, remaining, reset}
end
-- One fixed-window rule, as the general path decides it. A present key's PTTL is the time left in
-- its window; the count is rewritten with the expiry kept. Only a window's first call reads TIME.
if argc == 3 then
  local limit, window = ARGV[1] + 0, ARGV[2] + 0
  local s = redis.call('GET', KEYS[1])
  if s and #s == 8 then
    local y = struct.unpack('d', s)
    if not (y >= 1 and y <= limit and y % 1 == 0) then error('keyward: malformed rate limit state') end
    local r = redis.call('PTTL', KEYS[1])
    if r < 0 then error('keyward: malformed rate limit state') end
    if r > 0 then
      if y >= limit then return {0, 0, r, 0, r} end
      redis.call('SET', KEYS[1], struct.pack('d', y + 1), 'KEEPTTL')
      -- A clock that stepped back keeps a later window, whose end is more than a window away: the
      -- integer would not decode, so the array answers.
      if r <= window and limit * (window + 1) <= 9007199254740992 then return (limit - y - 1) * (window + 1) + r end
      return {1, 0, 0, limit - y - 1, r}
    end
  end
  -- The window's first call (or its key expired as the script ran, or an earlier keyward's state).
  local t = redis.call('TIME')
  local us = t[2] / 1000
  local now = t[1] * 1000 + (us - us % 1)
  local x = now / window
  x = (x - x % 1) * window
  local y = 0
  if s and #s ~= 8 then
    if #s ~= 16 then error('keyward: malformed rate limit state') end
    local start, count = struct.unpack('dd', s)
    if not (start >= 0 and count >= 0 and count <= limit and count % 1 == 0) then error('keyward: malformed rate limit state') end
    if start >= x then x, y = start, count end
  end
  local ends_in = x + window - now
  if y >= limit then return {0, 0, ends_in, 0, ends_in} end
  -- SET PXAT where Redis has it (7.0 and later tell their version; 6.0 has no PXAT): one command fewer.
  if redis.REDIS_VERSION_NUM then redis.call('SET', KEYS[1], struct.pack('d', y + 1), 'PXAT', x + window)
  else
    redis.call('SET', KEYS[1], struct.pack('d', y + 1))
    redis.call('PEXPIREAT', KEYS[1], x + window)
  end
  if ends_in <= window and limit * (window + 1) <= 9007199254740992 then return (limit - y - 1) * (window + 1) + ends_in end
  return {1, 0, 0, limit - y - 1, ends_in}
end
`
const SCRIPT_LOCKOUT = `local n = #KEYS
if ARGV[1] == '1' then
  local w = redis.call('GET', KEYS[n])
  n = n - 1
  if w then
    local blocked_until = tonumber(string.match(w, '^%d+:%d+:(%d+)$'))
    if not blocked_until then error('keyward: malformed lockout state') end
    if blocked_until > 0 and blocked_until > clock() then return {0, 1, blocked_until - now} end
  end
end
`
const SCRIPT_FUNCTIONS = `-- gcra.ts bookedAt: what is left of bk booked elapsed ms ago.
local function drained(bk, elapsed, limit, window)
  if elapsed >= window then return 0 end
  if elapsed <= 0 then return bk end
  local b = bk - elapsed * limit
  if b < 0 then return 0 end
  return b
end
-- A GCRA rule's units booked at its instant; the key's remaining life r when it holds this format
-- (else -1); and, when the write must set the expiry absolutely, the instant in epoch ms.
local function booked_at(key, limit, window)
  local s = redis.call('GET', key)
  if not s then return 0, -1 end
  local bk, ref = -1, 0
  if #s == 16 then bk, ref = struct.unpack('dd', s) end
  if ref >= 1 then
    -- False for NaN too: a foreign value is an error (503), never an empty bucket.
    if not (bk >= 0 and bk <= window * limit and ref <= window) then error('keyward: malformed rate limit state') end
    local r = redis.call('PTTL', key)
    if r < 0 then error('keyward: malformed rate limit state') end
    local b = drained(bk, ref - r, limit, window)
    -- Kept (KEEPTTL) or, the bucket empty, written afresh (PX): no clock needed. Else the expiry
    -- moves with booked units in the bucket: decided again at a millisecond two TIMEs agree on.
    if b == 0 or (r >= math.ceil((b + window) / limit) and r <= window) then return b, r end
    for _ = 1, 10 do
      local t1 = redis.call('TIME')
      r = redis.call('PTTL', key)
      local t2 = redis.call('TIME')
      local at = t1[1] * 1000 + math.floor(t1[2] / 1000)
      if at == t2[1] * 1000 + math.floor(t2[2] / 1000) then return drained(bk, ref - r, limit, window), r, at end
    end
    error('keyward: Redis clock did not settle')
  end
  -- An earlier keyward's state. Text first: its at:booked can be 24 characters long too (a day's
  -- window, ten digits booked), and a packed state never matches (its last byte, the exponent's, is no digit).
  local at
  local ta, tb = string.match(s, '^(%d+):(%d+)$')
  if ta then at, bk = tonumber(ta), tonumber(tb)
  elseif #s == 24 then at, bk = struct.unpack('ddd', s)
  else error('keyward: malformed rate limit state') end
  if not (at >= 0 and bk >= 0 and bk <= window * limit) then error('keyward: malformed rate limit state') end
  return drained(bk, clock() - at, limit, window), -1, clock()
end
-- Stores a GCRA state after a counted call: the expiry kept while it outlives the bucket, else one
-- whole window, absolutely when the call was decided at an instant read with TIME.
local function store(key, next, r, at, window, reset, px)
  if at then
    redis.call('SET', key, struct.pack('dd', next, window))
    redis.call('PEXPIREAT', key, at + window)
  elseif r >= reset and r <= window then redis.call('SET', key, struct.pack('dd', next, r), 'KEEPTTL')
  -- The bucket was empty (booked_at): next is one window.
  else redis.call('SET', key, struct.pack('dd', next, window), 'PX', px) end
end
`
const SCRIPT_DECIDE = `-- Every rule read and decided (x, y, z: its state), then, only if all allow, every rule written.
local kinds, xs, ys, zs = {}, {}, {}, {}
local allowed, retry = 1, 0
for i = 1, n do
  local limit, window, kind = tonumber(ARGV[3 * i - 1]), tonumber(ARGV[3 * i]), ARGV[3 * i + 1]
  local x, y, z, full, wait
  if kind == 'g' then
    -- x units booked, y the key's remaining life, z the instant to write the expiry from (or nil).
    x, y, z = booked_at(KEYS[i], limit, window)
    local tolerance = window * (limit - 1)
    full, wait = x > tolerance, math.ceil((x - tolerance) / limit)
  elseif kind == 'f' then
    -- fixed-window.ts: x the ms left in the window, y its count, z its end (epoch ms) when it is
    -- written anew (else its expiry is kept).
    local s = redis.call('GET', KEYS[i])
    x, y = 0, 0
    if s and #s == 8 then
      y = struct.unpack('d', s)
      if not (y >= 1 and y <= limit and y % 1 == 0) then error('keyward: malformed rate limit state') end
      x = redis.call('PTTL', KEYS[i])
      if x < 0 then error('keyward: malformed rate limit state') end
    end
    if x == 0 then
      -- The window now falls in (or the later one an earlier keyward stored: a clock that stepped back keeps it).
      local t = clock()
      if s and #s == 8 then
        local tt = redis.call('TIME')
        t = tt[1] * 1000 + math.floor(tt[2] / 1000)
      end
      local start = math.floor(t / window) * window
      y = 0
      if s and #s ~= 8 then
        if #s ~= 16 then error('keyward: malformed rate limit state') end
        local first, count = struct.unpack('dd', s)
        if not (first >= 0 and count >= 0 and count <= limit and count % 1 == 0) then error('keyward: malformed rate limit state') end
        if first >= start then start, y = first, count end
      end
      x, z = start + window - t, start + window
    end
    full, wait = y >= limit, x
  elseif kind == 's' then
    -- sliding-window.ts: x the log of call times less than a window old (packed doubles, oldest first), y their number.
    local s = redis.call('GET', KEYS[i]) or ''
    if #s % 8 ~= 0 or #s > 8 * limit then error('keyward: malformed rate limit state') end
    local from, after = 1, clock() - window
    while from <= #s and struct.unpack('d', s, from) <= after do from = from + 8 end
    x, y = string.sub(s, from), (#s - from + 1) / 8
    full = y >= limit
    if full then wait = struct.unpack('d', x) + window - now end
  else
    error('keyward: unknown rate limit algorithm')
  end
  kinds[i], xs[i], ys[i], zs[i] = kind, x, y, z
  if full then
    allowed = 0
    if wait > retry then retry = wait end
  end
end
`
const SCRIPT_WRITE = `local reply = {allowed, 0, retry}
for i = 1, n do
  local limit, window, kind, x, y = tonumber(ARGV[3 * i - 1]), tonumber(ARGV[3 * i]), kinds[i], xs[i], ys[i]
  local remaining, reset
  if kind == 'g' then
    local tolerance = window * (limit - 1)
    if allowed == 1 then
      local next = x + window
      reset = math.ceil(next / limit)
      store(KEYS[i], next, y, zs[i], window, reset, ARGV[3 * i])
      remaining = math.floor((tolerance - x) / window)
    elseif x > tolerance then remaining, reset = 0, math.ceil(x / limit)
    else remaining, reset = math.floor((window * limit - x) / window), math.ceil(x / limit) end
  elseif kind == 'f' then
    if allowed == 1 then
      if zs[i] then
        if redis.REDIS_VERSION_NUM then redis.call('SET', KEYS[i], struct.pack('d', y + 1), 'PXAT', zs[i])
        else
          redis.call('SET', KEYS[i], struct.pack('d', y + 1))
          redis.call('PEXPIREAT', KEYS[i], zs[i])
        end
      else redis.call('SET', KEYS[i], struct.pack('d', y + 1), 'KEEPTTL') end
      remaining, reset = limit - y - 1, x
    else
      remaining = math.max(0, limit - y)
      if y == 0 then reset = 0 else reset = x end
    end
  else
    local last = now
    if y > 0 then last = struct.unpack('d', x, #x - 7) end
    if allowed == 1 then
      -- A clock that stepped back never writes a time before the newest: the log stays in order.
      local newest = math.max(now, last)
      redis.call('SET', KEYS[i], x .. struct.pack('d', newest), 'PX', string.format('%d', newest + window - now))
      remaining, reset = limit - y - 1, newest + window - now
    else
      remaining = math.max(0, limit - y)
      if y == 0 then reset = 0 else reset = last + window - now end
    end
  end
  reply[2 * i + 2], reply[2 * i + 3] = remaining, reset
end
`
const LIMIT_SCRIPT = `${SCRIPT_SHORT_PATH}${SCRIPT_CLOCK}${SCRIPT_LOCKOUT}${SCRIPT_FUNCTIONS}${SCRIPT_DECIDE}${SCRIPT_WRITE}return reply
`

/**
 * Reads a key's credit state (credits.ts currentCredits, operation for operation): KEYS[n] after
 * the rules, five ARGV after theirs (cost, epoch, remaining, refill amount, refill interval, 0
 * without refill). Stored: struct 'ddd' (epoch, remaining, refilledAt), with no expiry: a balance
 * that expired would come back full from the record.
 */
const CREDIT_READ = `-- Credits: the key's balance, after its rules in KEYS and in ARGV.
-- A stored number keyward could have written: a non-negative safe integer (NaN, Infinity, 0.5 are not).
local function credit_count(x)
  return x >= 0 and x <= 9007199254740991 and x == math.floor(x)
end
local function credit_state(key, epoch, initial, amount, interval)
  local start = 0
  if interval > 0 then start = math.floor(clock() / interval) * interval end
  local s = redis.call('GET', key)
  if s then
    if #s ~= 24 then error('keyward: malformed credit state') end
    local e, r, a = struct.unpack('ddd', s)
    if not (credit_count(e) and credit_count(r) and credit_count(a)) then error('keyward: malformed credit state') end
    -- An older epoch (a stale cached record, a rotated predecessor) never replaces the balance
    -- held, nor refills it with its own (old) refill.
    if e >= epoch then
      if e == epoch and interval > 0 and start > a then return e, amount, start, 1 end
      return e, r, a, 0
    end
  end
  return epoch, initial, start, 1
end
`
const CREDIT_SPEND_READ = `local ck = KEYS[n]
n = n - 1
local c = 3 * n + 2
local cost, amount, interval = tonumber(ARGV[c]), tonumber(ARGV[c + 3]), tonumber(ARGV[c + 4])
local ce, cr, ca, cadvanced = credit_state(ck, tonumber(ARGV[c + 1]), tonumber(ARGV[c + 2]), amount, interval)
`
// The balance must cover the cost whatever the rules said; a refusal for credits waits for the
// next refill, or says none will cover it (0).
const CREDIT_DECIDE = `local exhausted = 0
if cost > cr then
  exhausted, allowed, retry = 1, 0, 0
  if interval > 0 and amount >= cost then retry = math.max(1, ca + interval - clock()) end
end
`
const CREDIT_WRITE = `if allowed == 1 then
  cr = cr - cost
  redis.call('SET', ck, struct.pack('ddd', ce, cr, ca))
elseif cadvanced == 1 then
  -- Refused, but a newer epoch (or a refill) is kept: a stale record must not spend the balance it replaced.
  redis.call('SET', ck, struct.pack('ddd', ce, cr, ca))
end
reply[#reply + 1] = cr
reply[#reply + 1] = exhausted
`
/**
 * The limit script with credits: as LIMIT_SCRIPT (without its short path), the credit
 * state read with the rules, the spend decided with them, written when all allow (and, refused,
 * when a newer epoch or a refill was taken).
 * Reply: LIMIT_SCRIPT's, then the balance and 1 when the credits refused.
 */
const CREDIT_LIMIT_SCRIPT = [
  SCRIPT_CLOCK,
  SCRIPT_LOCKOUT,
  SCRIPT_FUNCTIONS,
  CREDIT_READ,
  CREDIT_SPEND_READ,
  SCRIPT_DECIDE,
  CREDIT_DECIDE,
  SCRIPT_WRITE,
  CREDIT_WRITE,
  'return reply\n',
].join('')

/**
 * Adds to a key's balance (0 reads it, writing nothing). KEYS: the credit state. ARGV: add,
 * epoch, remaining, refill amount, refill interval. Reply: the balance after.
 */
const CREDIT_ADJUST_SCRIPT = `${SCRIPT_CLOCK}${CREDIT_READ}local add = tonumber(ARGV[1])
local ce, cr, ca = credit_state(KEYS[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]))
if add > 0 then
  cr = cr + add
  if cr > 9007199254740991 then error('keyward: a credit balance must stay a safe integer') end
  redis.call('SET', KEYS[1], struct.pack('ddd', ce, cr, ca))
end
return cr
`

/**
 * Counts one failure in the address's fixed window (from its first failure), as
 * MemoryRateLimiter does. KEYS: the lockout window. ARGV: maxFailures, windowMs.
 * Reply: when the address is not blocked, minus the failures in the window with this one (a
 * negative integer: an integer costs Redis a sixth of the script less than a table, and its sign
 * tells it from any count or array a broken backend could answer); else { 1, retryAfterMs, failures }.
 * Stored: text `start:count:blockedUntil` (as every keyward wrote it, and the limit script reads
 * it), expiring at the window's end: set by the window's first failure, kept (KEEPTTL) by the
 * others.
 *
 * Written for Redis CPU as the limit script's short path: no closures or function calls beyond
 * the two it needs, integers formatted with '%d' where Redis's Lua has 64-bit integers (not
 * '%.0f': glibc's float printing cost more than the rest of the script), the expiry written once
 * per window and once when a block starts.
 */
const FAILURE_SCRIPT = `${SCRIPT_NOW}local max, window = ARGV[1] + 0, ARGV[2] + 0
-- Lua's '%d' casts to a C long: 32 bits on some builds (i386, ARM32), where a time in ms would
-- wrap or saturate (a lockout never blocking). There, the exact, slower float format.
local F = '%d:%d:%d'
if string.format('%d', 4294967296) ~= '4294967296' then F = '%.0f:%d:%.0f' end
local w = redis.call('GET', KEYS[1])
if w then
  local s, c, u = string.match(w, '^(%d+):(%d+):(%d+)$')
  if not s then error('keyward: malformed lockout state') end
  s = s + 0
  if now < s + window then
    local count, blocked_until, starts = c + 1, u + 0, false
    if count >= max then
      starts = blocked_until ~= s + window
      blocked_until = s + window
    end
    local v = string.format(F, s, count, blocked_until)
    -- The window goes on: its expiry, start + windowMs, set by its first failure, stays, but for
    -- the failure that starts a block, which writes the block's own end (a first failure under a
    -- shorter windowMs must not end the block early). After Redis's clock stepped back, never
    -- more than a window from now.
    if s > now then redis.call('SET', KEYS[1], v, 'PX', ARGV[2])
    elseif starts then redis.call('SET', KEYS[1], v, 'PX', blocked_until - now)
    else redis.call('SET', KEYS[1], v, 'KEEPTTL') end
    if blocked_until > now then return {1, blocked_until - now, count} end
    return -count
  end
end
-- A new window from this failure, the first.
if max <= 1 then
  redis.call('SET', KEYS[1], string.format(F, now, 1, now + window), 'PX', ARGV[2])
  return {1, window, 1}
end
redis.call('SET', KEYS[1], string.format(F, now, 1, 0), 'PX', ARGV[2])
return -1
`

/** A GCRA rule's Redis key is as it always was; the other algorithms' states live under keys of their own. */
const KEY_SUFFIX: Record<RateLimitAlgorithm, string> = { gcra: '', 'fixed-window': ':fw', 'sliding-window': ':sw' }
/** How the script names each algorithm in ARGV. */
const SCRIPT_CODE: Record<RateLimitAlgorithm, string> = { gcra: 'g', 'fixed-window': 'f', 'sliding-window': 's' }

const SHARED_ON_CLUSTER =
  "keyward: RedisRateLimiter on a Redis Cluster cannot count shared quotas with a key's own in one atomic script " +
  '(their counters are in different slots)'

let scripts: { limit: RedisScript; failure: RedisScript; credit: RedisScript; creditAdjust: RedisScript } | undefined
function loadScripts() {
  return (scripts ??= {
    limit: redisScript(LIMIT_SCRIPT),
    failure: redisScript(FAILURE_SCRIPT),
    credit: redisScript(CREDIT_LIMIT_SCRIPT),
    creditAdjust: redisScript(CREDIT_ADJUST_SCRIPT),
  })
}

/** A spend's ARGV after the rules': cost, epoch, remaining, refill amount and interval (0 0 without). */
function creditArgs(credits: KeyCredits, cost: number): string[] {
  const refill = credits.refill
  return [String(cost), String(credits.epoch), String(credits.remaining), String(refill?.amount ?? 0), String(refill?.intervalMs ?? 0)]
}

const DIGEST_CACHE_SIZE = 4096

/** A rule's arguments on the script's short path, and its Redis key after the hash tag's digest. */
interface OneRule extends RateLimitRule {
  /** Not to be changed: passed to the client call after call. */
  readonly args: string[]
  readonly keyTail: string
}

/**
 * GCRA quotas and lockout windows in Redis, shared by every instance of your server.
 *
 * - One round trip per check: a single EVALSHA (EVAL when Redis answers NOSCRIPT, after a
 *   restart or `SCRIPT FLUSH`), deciding and counting all of a key's rules atomically, with the
 *   address's lockout checked in the same script.
 * - Time is Redis's own: the keys' expiry (`PTTL`), and `TIME` only where an absolute time is
 *   needed (a fixed window's first call, a blocked address, a sliding window, credits). Instance
 *   clocks do not matter, and `now` in the request is ignored.
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
  readonly #cluster: boolean
  readonly #nodeRedis: boolean
  /** Every call's timeout: one timer for all of this limiter's calls (they share timeoutMs). */
  readonly #deadlines: DeadlineQueue
  /** Digests of recent key ids and addresses: the same few come by again and again. Bounded. */
  readonly #digests = new Map<string, string>()
  readonly #oneRules = new WeakMap<RateLimitRule, OneRule>()

  /**
   * Shared quotas are counted in the same script as the key's rules, so not on a Cluster (a
   * group's counters and a key's are in different slots): there `limit()` rejects a request
   * with shared quotas, and createKeyward refuses `sharedQuotas` with this limiter.
   */
  get sharedQuotas(): boolean {
    return !this.#cluster
  }

  /**
   * Credits are spent in the same script as the key's rules, on a Cluster too: the balance lives
   * under the key's own hash tag (`kw:cr:{<hash>}`), in the slot of its rules. It is kept with no
   * expiry (an expired balance would come back full): run Redis with persistence.
   */
  readonly credits = true

  constructor(options: RedisRateLimiterOptions) {
    checkOptions(options, REDIS_LIMITER_OPTIONS, { notObject: NOT_A_CLIENT })
    const { client, prefix = 'kw:', timeoutMs = 250 } = options
    if (!isScriptClient(client)) optionError(NOT_A_CLIENT)
    const cluster = options.cluster ?? isClusterClient(client)
    this.#client = client
    this.#prefix = prefix
    this.#cluster = cluster
    this.#nodeRedis = isNodeRedis(client)
    this.#deadlines = new DeadlineQueue(timeoutMs, 'Redis rate limiter')
    loadScripts()
  }

  /** Checks and counts one call (and spends its credits); `request.now` is ignored (Redis's clock decides). */
  limit(request: LimitRequest): Promise<LimitResult> {
    // Not async (a promise and two microtask turns fewer per check), yet a bad argument is still
    // a rejection like any other failure, never a synchronous throw.
    try {
      return this.#limit(request)
    } catch (error) {
      return Promise.reject(error)
    }
  }

  #limit({ key, rules: own, shared, blockKey, credits, cost }: LimitRequest): Promise<LimitResult> {
    if (own.length === 0 && shared === undefined && blockKey === undefined && credits === undefined)
      return Promise.resolve({ allowed: true, blocked: false, retryAfterMs: 0, rules: [] })
    const loaded = loadScripts()
    const hash = this.#digest(key)
    // One GCRA or fixed-window rule, what verify() sends for most keys: the script's short path,
    // its arguments built once per rule, the lockout checked in it (or first, on a Cluster).
    // A key with credits never: its balance is spent by the credit script, with its rules.
    if (own.length === 1 && (shared === undefined || shared.length === 0) && credits === undefined) {
      const one = this.#oneRule(own[0]!)
      if (one !== undefined) {
        const ruleKey = this.#prefix + 'rl:{' + hash + one.keyTail
        if (blockKey === undefined) return this.#call(loaded.limit, 1, withKeys(ruleKey, undefined, one.args), toResult, own, false)
        const lockoutKey = this.#lockoutKey(blockKey)
        if (!this.#cluster) return this.#call(loaded.limit, 2, withKeys(ruleKey, lockoutKey, one.args), toResult, own, false)
        return this.#deadlines.track(
          this.#run(loaded.limit, [lockoutKey], ['1']).then(async (block) => {
            const blocked = toResult(block, [], false)
            return blocked.blocked ? blocked : toResult(await this.#run(loaded.limit, [ruleKey], one.args), own, false)
          }),
        )
      }
    }
    let rules: readonly RateLimitRule[] = own
    const keys = own.map((rule) => this.#ruleKey(hash, rule))
    if (shared !== undefined && shared.length > 0) {
      // A group's counters live under its own hash tag: another slot than the key's on a Cluster.
      if (this.#cluster) throw new Error(SHARED_ON_CLUSTER)
      const all = [...own]
      for (const quota of shared) {
        const groupHash = this.#digest(quota.key)
        for (const rule of quota.rules) {
          all.push(rule)
          keys.push(this.#ruleKey(groupHash, rule))
        }
      }
      rules = all
    }
    // ARGV[1], the lockout flag, is set below.
    const args = ['0']
    for (const rule of rules) args.push(String(rule.limit), String(rule.windowMs), SCRIPT_CODE[rule.algorithm ?? 'gcra'])
    let script = loaded.limit
    if (credits !== undefined) {
      // The balance sits under the key's hash tag, in the slot of its own rules.
      const spend = checkCreditSpend(credits, cost)
      script = loaded.credit
      keys.push(this.#creditKey(hash))
      args.push(...creditArgs(spend.credits, spend.cost))
    }
    const spends = credits !== undefined
    if (blockKey === undefined) return this.#call(script, keys.length, keys.concat(args), toResult, rules, spends)
    const lockoutKey = this.#lockoutKey(blockKey)
    if (!this.#cluster || keys.length === 0) {
      keys.push(lockoutKey)
      args[0] = '1'
      return this.#call(script, keys.length, keys.concat(args), toResult, rules, spends)
    }
    // Cluster: the address's slot, then the key's. One after the other, so that a call the
    // lockout refuses counts on no quota (the same decision as the one script on one server).
    return this.#deadlines.track(
      this.#run(loaded.limit, [lockoutKey], ['1']).then(async (block) => {
        const blocked = toResult(block, [], false)
        return blocked.blocked ? blocked : toResult(await this.#run(script, keys, args), rules, spends)
      }),
    )
  }

  /** Adds to (or, with 0, reads) a key's running balance in Redis; `now` is ignored (Redis's clock decides). */
  async adjustCredits(adjustment: CreditAdjustment): Promise<number> {
    const { key, credits, add } = checkCreditAdjustment(adjustment)
    const keysAndArgs = [this.#creditKey(this.#digest(key)), String(add), ...creditArgs(credits, 0).slice(1)]
    return this.#call(loadScripts().creditAdjust, 1, keysAndArgs, toBalance, [], false)
  }

  /** Counts one failure in Redis; `now` is ignored (Redis's clock decides). */
  recordFailure(blockKey: string, policy: LockoutPolicy, _now?: number): Promise<BlockState> {
    // Not async, as limit(): a bad argument still rejects.
    try {
      // Whole numbers only: the script stores them as integers, and windowMs is a PX argument as it is.
      const { maxFailures, windowMs } = checkPolicy(policy, 'RedisRateLimiter')
      const keysAndArgs = [this.#lockoutKey(blockKey), String(maxFailures), String(windowMs)]
      return this.#call(loadScripts().failure, 1, keysAndArgs, toBlockState, [], false)
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /**
   * A rule's short-path arguments and key tail, or undefined for a sliding window (general path
   * only). Cached by rule object: a key record's rules are the same objects call after call.
   */
  #oneRule(rule: RateLimitRule): OneRule | undefined {
    let one = this.#oneRules.get(rule)
    // A rule changed in place since it was cached is built afresh.
    if (one === undefined || one.limit !== rule.limit || one.windowMs !== rule.windowMs || one.algorithm !== rule.algorithm) {
      const algorithm = rule.algorithm ?? 'gcra'
      // Anything but the two short-path algorithms goes the general way, where an unknown one is an error.
      if (algorithm !== 'gcra' && algorithm !== 'fixed-window') return undefined
      const args = [String(rule.limit), String(rule.windowMs)]
      // The script tells the paths apart by the number of arguments: two for GCRA, three for a fixed window.
      if (algorithm === 'fixed-window') args.push('f')
      one = {
        limit: rule.limit,
        windowMs: rule.windowMs,
        algorithm: rule.algorithm,
        args,
        keyTail: `}:${rule.limit}:${rule.windowMs}${KEY_SUFFIX[algorithm]}`,
      }
      this.#oneRules.set(rule, one)
    }
    return one
  }

  /** Where one rule's state lives: the key's (or group's) digest as the hash tag, then the rule. */
  #ruleKey(hash: string, rule: RateLimitRule): string {
    return `${this.#prefix}rl:{${hash}}:${rule.limit}:${rule.windowMs}${KEY_SUFFIX[rule.algorithm ?? 'gcra']}`
  }

  /** A key's running credit balance: its digest as the hash tag, the slot of its rules. */
  #creditKey(hash: string): string {
    return `${this.#prefix}cr:{${hash}}`
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

  /**
   * One script call under the limiter's deadline, with as few promises and closures as it takes:
   * the client's promise, one handler pair on it, and the promise returned. `decode(reply, rules,
   * spends)` turns the reply into the answer (a module function, not a closure per call); a reply
   * that comes after the deadline is dropped undecoded.
   */
  #call<T>(
    script: RedisScript,
    numKeys: number,
    keysAndArgs: string[],
    decode: Decoder<T>,
    rules: readonly RateLimitRule[],
    spends: boolean,
  ): Promise<T> {
    const call = this.#deadlines.open<T>()
    this.#send(call, script, numKeys, keysAndArgs, false, decode, rules, spends)
    return call.promise
  }

  /** EVALSHA, or EVAL (`whole`) once Redis answered NOSCRIPT (restart, failover, SCRIPT FLUSH). Never throws. */
  #send<T>(
    call: PendingCall<T>,
    script: RedisScript,
    numKeys: number,
    keysAndArgs: string[],
    whole: boolean,
    decode: Decoder<T>,
    rules: readonly RateLimitRule[],
    spends: boolean,
  ): void {
    // The handlers are written inline: a closure assigned to a name costs a defineProperty per
    // call where the code runs through esbuild with keepNames (tsx, which the benches use).
    try {
      sendScript(this.#client, this.#nodeRedis, script, numKeys, keysAndArgs, whole).then(
        (reply) => answer(call, decode, reply, rules, spends),
        (error: unknown) => {
          if (!whole && !call.done && isNoScript(error)) this.#send(call, script, numKeys, keysAndArgs, true, decode, rules, spends)
          else call.reject(error)
        },
      )
    } catch (error) {
      // A client that throws instead of rejecting fails the call all the same.
      call.reject(error)
    }
  }
}

/** Turns a script's reply into a call's answer; throws on a reply the script cannot have sent. */
type Decoder<T> = (reply: unknown, rules: readonly RateLimitRule[], spends: boolean) => T

/** Settles `call` with the decoded reply, or with the decoder's error; nothing once it timed out. */
function answer<T>(call: PendingCall<T>, decode: Decoder<T>, reply: unknown, rules: readonly RateLimitRule[], spends: boolean): void {
  if (call.done) return
  let value: T
  try {
    value = decode(reply, rules, spends)
  } catch (error) {
    call.reject(error)
    return
  }
  call.resolve(value)
}

/** The credit adjustment script's reply: the balance. */
function toBalance(reply: unknown): number {
  return integers([reply], 1)[0]!
}

/** A short-path call's KEYS then ARGV, in the one array the client is given. */
function withKeys(ruleKey: string, lockoutKey: string | undefined, args: readonly string[]): string[] {
  const all = lockoutKey === undefined ? [ruleKey] : [ruleKey, lockoutKey]
  for (const arg of args) all.push(arg)
  return all
}

/** The failure script's reply. */
function toBlockState(reply: unknown): BlockState {
  // Not blocked: minus the failures counted in the window, this one included.
  if (typeof reply === 'number') {
    if (!(Number.isSafeInteger(reply) && reply <= -1)) throw new Error(UNEXPECTED_REPLY)
    return { blocked: false, retryAfterMs: 0, failures: -reply }
  }
  // Blocked: the script's only array answer. Any other array is a broken backend.
  const [blocked, retryAfterMs, failures] = integers(reply, 3)
  if (blocked !== 1) throw new Error(UNEXPECTED_REPLY)
  return { blocked: true, retryAfterMs: retryAfterMs!, failures: failures! }
}

/** 128 bits of SHA-256, hex: the key id or address never reaches Redis as it is. */
function digest(value: string): string {
  return bytesToHex(sha256(utf8ToBytes(value)).subarray(0, 16))
}

const UNEXPECTED_REPLY = 'keyward: unexpected reply from the Redis rate limiter script'

/** The script's reply as integers; anything else is a broken backend (the call rejects). */
function integers(reply: unknown, length: number): number[] {
  if (!Array.isArray(reply) || reply.length !== length || !reply.every((n) => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0)) {
    throw new Error(UNEXPECTED_REPLY)
  }
  return reply as number[]
}

function toResult(reply: unknown, rules: LimitRequest['rules'], spends: boolean): LimitResult {
  if (typeof reply === 'number') {
    // The short path's allowed call: remaining * (windowMs + 1) + resetMs, where an allowed call
    // leaves remaining below the limit and a reset of 1..windowMs ms. Anything else is refused.
    // Never an answer to a call that spends credits: that script has no short path.
    const rule = !spends && rules.length === 1 ? rules[0]! : undefined
    if (rule === undefined || !Number.isSafeInteger(reply)) throw new Error(UNEXPECTED_REPLY)
    const m = rule.windowMs + 1
    const remaining = Math.floor(reply / m)
    const resetMs = reply % m
    if (!(remaining >= 0 && remaining < rule.limit && resetMs >= 1)) throw new Error(UNEXPECTED_REPLY)
    return { allowed: true, blocked: false, retryAfterMs: 0, rules: [{ rule, remaining, resetMs }] }
  }
  if (Array.isArray(reply) && reply[1] === 1) {
    const [, , retryAfterMs] = integers(reply, 3)
    return { allowed: false, blocked: true, retryAfterMs: retryAfterMs!, rules: [] }
  }
  const [allowed, , retryAfterMs, ...states] = integers(reply, 3 + 2 * rules.length + (spends ? 2 : 0))
  const ruleStates: RuleState[] = rules.map((rule, i) => ({ rule, remaining: states[2 * i]!, resetMs: states[2 * i + 1]! }))
  const result: LimitResult = { allowed: allowed === 1, blocked: false, retryAfterMs: retryAfterMs!, rules: ruleStates }
  if (spends) {
    result.credits = states[2 * rules.length]!
    result.creditsExhausted = states[2 * rules.length + 1] === 1
  }
  return result
}
