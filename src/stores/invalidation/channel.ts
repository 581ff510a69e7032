import { bytesToHex } from '@noble/hashes/utils.js'
import { fillRandom } from '../../internal/random.js'
import { unrefTimer, withTimeout, type Timer } from '../../internal/timers.js'
import type { InvalidationEvent } from '../token-store.js'
import type { InvalidationTransport, TransportSession } from './transport.js'

/** Self-test messages start with this; a key id (base62) never contains a colon. */
const SELF_TEST_PREFIX = 'keyward-self-test:'

/**
 * Settings of an {@link InvalidationChannel}; each store maps its own options onto them.
 *
 * @example
 * ```ts
 * const settings: ChannelSettings = {
 *   timeoutMs: 500, heartbeatName: 'Redis PING', reconnectDelayMs: 250, heartbeatMs: 10_000, selfTestMs: 1000, onError,
 * }
 * ```
 */
export interface ChannelSettings {
  /** Opening a subscription and each heartbeat ping reject after this many ms. */
  timeoutMs: number
  /** Names the heartbeat in its timeout error, e.g. `Redis PING`. */
  heartbeatName: string
  /** First delay before opening a new subscription; doubles per failed attempt, up to 30 s. */
  reconnectDelayMs: number
  /** How often the subscription is checked (ping, then the self-test); false never. */
  heartbeatMs: number | false
  /** How long the self-test waits to hear its own message; false skips the self-test. */
  selfTestMs: number | false
  onError: (error: unknown) => void
  /**
   * Why the store cannot listen although the app did not say `listen: false` (a single pg Client,
   * a Redis client without `duplicate()`). With no transport and this set, the channel is degraded
   * from its first subscriber on: reported through `onError` once, `listening()` rejects with it.
   */
  cannotListen?: string
}

/** Where a channel stands; `deaf` is the degraded state (subscribers were told `{ type: 'degraded' }`). */
type ChannelState = 'idle' | 'connecting' | 'hearing' | 'deaf'

/**
 * The one implementation of "hear other instances' changes", over a store's
 * {@link InvalidationTransport}:
 *
 * - subscribes while anyone listens; a lost subscription emits `flush`, a new one is opened after
 *   `reconnectDelayMs`, doubled per failed attempt (up to 30 s), and `flush` is emitted again once
 *   it is established (anything announced in between was missed);
 * - every `heartbeatMs` it pings over the subscriber connection (no answer: the subscription is
 *   treated as lost) and runs the self-test;
 * - the self-test publishes a nonce through the store's client and waits `selfTestMs` to hear it
 *   on the subscription. A subscription that cannot hear itself (LISTEN through a transaction-mode
 *   pooler) or cannot be opened is reported (`onError`, `listening()` rejects) and subscribers get
 *   `{ type: 'degraded' }`; once it hears itself again, `{ type: 'healthy' }` and a `flush`.
 *
 * @example
 * ```ts
 * const channel = new InvalidationChannel(transport, settings)
 * const unsubscribe = channel.subscribe((event) => console.log(event))
 * await channel.listening()
 * ```
 */
export class InvalidationChannel {
  readonly #transport: InvalidationTransport | undefined
  readonly #settings: ChannelSettings
  readonly #listeners = new Set<(event: InvalidationEvent) => void>()
  readonly #heard = new Map<string, () => void>()
  /** Bumped whenever listening starts or stops; work of an older generation is dropped. */
  #generation = 0
  #state: ChannelState = 'idle'
  #session: TransportSession | undefined
  #problem: Error | undefined
  #closing: Promise<void> = Promise.resolve()
  #retryTimer: Timer | undefined
  #heartbeat: ReturnType<typeof setInterval> | undefined
  #waiters: Array<{ resolve: () => void; reject: (error: Error) => void }> = []
  /** `cannotListen` goes to onError once, not on every first subscriber. */
  #reportedCannotListen = false

  /**
   * Without a transport, the channel only tells this process's listeners; it is degraded then
   * unless the app chose not to listen (no `cannotListen`).
   */
  constructor(transport: InvalidationTransport | undefined, settings: ChannelSettings) {
    this.#transport = transport
    this.#settings = { ...settings, selfTestMs: transport?.publish === undefined ? false : settings.selfTestMs }
  }

  /** True while a subscription is established and (with the self-test) heard itself: other instances' changes arrive. */
  get hearing(): boolean {
    return this.#state === 'hearing'
  }

  /** Adds a listener; the first one starts the subscription, the last one leaving stops it. */
  subscribe(listener: (event: InvalidationEvent) => void): () => void {
    this.#listeners.add(listener)
    if (this.#listeners.size === 1) this.#start()
    // A late subscriber (a second keyward on this store) must cap its cache too.
    else if (this.#state === 'deaf') this.#tell(listener, { type: 'degraded', error: this.#degradedError() })
    let subscribed = true
    return () => {
      if (!subscribed) return
      subscribed = false
      this.#listeners.delete(listener)
      if (this.#listeners.size === 0) this.#stop()
    }
  }

  /**
   * Resolves once other instances' changes are heard, or at once when nobody listens. Rejects
   * while degraded: the subscription could not be opened, or it cannot hear its own self-test.
   */
  listening(): Promise<void> {
    if (this.#state === 'idle' || this.#state === 'hearing') return Promise.resolve()
    if (this.#state === 'deaf') return Promise.reject(this.#degradedError())
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }))
  }

  /** Tells this process's listeners; a store calls it for its own change while it cannot hear it come back. */
  emit(event: InvalidationEvent): void {
    for (const listener of [...this.#listeners]) this.#tell(listener, event)
  }

  #tell(listener: (event: InvalidationEvent) => void, event: InvalidationEvent): void {
    try {
      listener(event)
    } catch (error) {
      this.#settings.onError(error)
    }
  }

  #degradedError(): Error {
    return this.#problem ?? new Error('keyward: the invalidation channel is degraded')
  }

  /** Drops every listener and ends the subscription; resolves once its connection is closed. */
  close(): Promise<void> {
    this.#listeners.clear()
    this.#stop()
    return this.#closing
  }

  #start(): void {
    if (this.#transport === undefined) return this.#startWithout()
    const generation = ++this.#generation
    this.#state = 'connecting'
    this.#attempt(generation, 0)
  }

  /** No transport: nothing to open. Degraded at once, unless the app chose not to listen. */
  #startWithout(): void {
    const reason = this.#settings.cannotListen
    if (reason === undefined) return
    this.#generation += 1
    this.#problem = new Error(reason)
    this.#state = 'deaf'
    if (!this.#reportedCannotListen) this.#settings.onError(this.#problem)
    this.#reportedCannotListen = true
    this.emit({ type: 'degraded', error: this.#problem })
  }

  #stop(): void {
    this.#generation += 1
    this.#state = 'idle'
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer)
    this.#retryTimer = undefined
    this.#drop()
    this.#settle()
  }

  /** Stops the heartbeat and closes the current session, in the background. */
  #drop(): void {
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat)
    this.#heartbeat = undefined
    const session = this.#session
    this.#session = undefined
    if (session === undefined) return
    const closed = session.close().catch((error: unknown) => this.#settings.onError(error))
    this.#closing = Promise.all([this.#closing, closed]).then(() => {})
  }

  #settle(): void {
    const waiters = this.#waiters
    this.#waiters = []
    for (const waiter of waiters) {
      if (this.#state === 'deaf') waiter.reject(this.#degradedError())
      else waiter.resolve()
    }
  }

  #attempt(generation: number, failures: number): void {
    let session: TransportSession | undefined
    const current = () => generation === this.#generation && this.#session === session && session !== undefined
    const hooks = {
      message: (payload: string | undefined) => {
        if (generation !== this.#generation) return
        if (payload !== undefined && payload.startsWith(SELF_TEST_PREFIX)) this.#heard.get(payload)?.()
        else this.emit(payload === undefined || payload === '' ? { type: 'flush' } : { type: 'key', id: payload })
      },
      lost: (error: unknown) => {
        if (current()) this.#lost(generation, error)
      },
      gap: () => {
        if (current()) this.emit({ type: 'flush' })
      },
    }
    // A transport that throws instead of rejecting (an ioredis Cluster that knows no master yet)
    // is a failed attempt like any other, never an exception out of subscribe() or a timer.
    Promise.resolve()
      .then(() => this.#transport!.open(hooks))
      .then(
        async (opened) => {
          if (generation !== this.#generation) {
            opened.close().catch((error: unknown) => this.#settings.onError(error))
            return
          }
          session = opened
          this.#session = opened
          this.#startHeartbeat(generation, opened)
          await this.#check(generation, opened)
        },
        (error: unknown) => {
          if (generation !== this.#generation) return
          this.#degrade(error)
          this.#schedule(generation, failures)
        },
      )
  }

  /** The self-test on `session`: hearing → established (flush); deaf → degraded. */
  async #check(generation: number, session: TransportSession): Promise<void> {
    let error: unknown
    try {
      await this.#selfTest()
    } catch (caught) {
      error = caught
    }
    if (generation !== this.#generation || this.#session !== session) return
    if (error !== undefined) return this.#degrade(error)
    if (this.#state === 'hearing') return
    const wasDeaf = this.#state === 'deaf'
    this.#state = 'hearing'
    this.#problem = undefined
    if (wasDeaf) this.emit({ type: 'healthy' })
    // Anything cached before the subscription took effect may have missed an announcement.
    this.emit({ type: 'flush' })
    this.#settle()
  }

  async #selfTest(): Promise<void> {
    const { selfTestMs } = this.#settings
    if (selfTestMs === false) return
    const nonce = SELF_TEST_PREFIX + bytesToHex(fillRandom(new Uint8Array(12)))
    const heard = new Promise<void>((resolve) => this.#heard.set(nonce, resolve))
    try {
      await withTimeout(this.#transport!.publish!(nonce), this.#settings.timeoutMs, 'invalidation self-test publish')
      await withTimeout(heard, selfTestMs, 'invalidation self-test')
    } catch (error) {
      throw new Error(
        `keyward: the invalidation channel did not hear its own test message within ${selfTestMs} ms, so other instances' ` +
          'revocations would not reach this one (LISTEN through a transaction-mode pooler such as PgBouncer? give the store a ' +
          'direct `listener` connection). Until it does, cached keys live for the degraded TTL only',
        { cause: error },
      )
    } finally {
      this.#heard.delete(nonce)
    }
  }

  #degrade(error: unknown): void {
    this.#settings.onError(error)
    this.#problem = error instanceof Error ? error : new Error(String(error))
    if (this.#state !== 'deaf') {
      this.#state = 'deaf'
      this.emit({ type: 'degraded', error: this.#problem })
    }
    this.#settle()
  }

  #lost(generation: number, error: unknown): void {
    this.#drop()
    this.#settings.onError(error)
    if (this.#state === 'hearing') this.#state = 'connecting'
    // Changes may be announced while we are deaf: forget everything now, and again once back.
    this.emit({ type: 'flush' })
    this.#schedule(generation, 0)
  }

  /** The next attempt after `failures` failed ones in a row (0 after a loss): reconnectDelayMs, doubled per failure. */
  #schedule(generation: number, failures: number): void {
    const delay = Math.min(this.#settings.reconnectDelayMs * 2 ** Math.min(failures, 16), 30_000)
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined
      if (generation === this.#generation) this.#attempt(generation, failures + 1)
    }, delay)
    unrefTimer(this.#retryTimer)
  }

  #startHeartbeat(generation: number, session: TransportSession): void {
    const { heartbeatMs, timeoutMs } = this.#settings
    if (heartbeatMs === false) return
    let busy = false
    const beat = async () => {
      if (busy) return
      busy = true
      try {
        if (session.ping !== undefined) await withTimeout(session.ping(), timeoutMs, this.#settings.heartbeatName)
      } catch (error) {
        if (generation === this.#generation && this.#session === session) this.#lost(generation, error)
        return
      } finally {
        busy = false
      }
      if (this.#settings.selfTestMs !== false && generation === this.#generation && this.#session === session) {
        busy = true
        await this.#check(generation, session).finally(() => (busy = false))
      }
    }
    this.#heartbeat = setInterval(() => void beat(), heartbeatMs)
    unrefTimer(this.#heartbeat)
  }
}
