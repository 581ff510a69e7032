/**
 * Replay protection for signed deliveries that carry no timestamp or nonce: the body's digest is
 * claimed for a window, and a second delivery of the same bytes within it is refused.
 */
import { LRUCache } from 'lru-cache'

/**
 * Where delivery digests are remembered. The default is this process's memory; a deployment of
 * several instances passes a shared one (Redis `SET key 1 PX ttl NX`) so a replay sent to another
 * instance is refused too.
 *
 * @example
 * ```ts
 * const guard: ReplayGuard = {
 *   claim: async (digest, ttlMs) => (await redis.set(`kw:leak:${digest}`, '1', 'PX', ttlMs, 'NX')) === 'OK',
 *   release: async (digest) => void (await redis.del(`kw:leak:${digest}`)),
 * }
 * ```
 */
export interface ReplayGuard {
  /** True when `digest` was not claimed within `ttlMs`, and claims it; false for a replay. */
  claim(digest: string, ttlMs: number): Promise<boolean>
  /** Gives a claim back: the delivery failed (503) and the host's retry must be accepted. */
  release(digest: string): Promise<void>
}

/**
 * The default guard: at most `max` digests in memory, each for its window. When full, the oldest
 * claim is dropped first, so a flood of distinct signed bodies (only the host can sign) shortens
 * the window rather than growing memory.
 *
 * @example
 * ```ts
 * const guard = new MemoryReplayGuard(10_000)
 * await guard.claim(digest, 600_000) // true, then false for the same digest
 * ```
 */
export class MemoryReplayGuard implements ReplayGuard {
  // Digest -> end of its window (epoch ms, on the given clock).
  private readonly seen: LRUCache<string, number>

  constructor(
    max: number,
    private readonly now: () => number = Date.now,
  ) {
    this.seen = new LRUCache<string, number>({ max })
  }

  async claim(digest: string, ttlMs: number): Promise<boolean> {
    const now = this.now()
    const until = this.seen.get(digest)
    if (until !== undefined && until > now) return false
    this.seen.set(digest, now + ttlMs)
    return true
  }

  async release(digest: string): Promise<void> {
    this.seen.delete(digest)
  }
}
