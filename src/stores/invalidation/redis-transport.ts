import type { InvalidationTransport, TransportHooks, TransportSession } from './transport.js'

/**
 * The dedicated connection {@link RedisTokenStore} subscribes on: what ioredis's `duplicate()`
 * returns.
 *
 * @example
 * ```ts
 * const subscriber: RedisSubscriberConnection = redis.duplicate()
 * ```
 */
export interface RedisSubscriberConnection {
  /** ioredis's connection state: 'wait' (lazyConnect), 'connecting', 'ready', 'close', 'end'... */
  readonly status: string
  connect(): Promise<unknown>
  subscribe(channel: string): Promise<unknown>
  /** Allowed in subscriber mode: the heartbeat. */
  ping(): Promise<unknown>
  disconnect(reconnect?: boolean): void
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- matches EventEmitter's signature
  on(event: string, listener: (...args: any[]) => void): unknown
  removeAllListeners(event?: string): unknown
}

/**
 * A Redis pub/sub transport: each session is a new connection from `duplicate()`, subscribed to
 * `channel`. Its loss ends the session (the channel opens a new one and flushes), so a session
 * never silently resubscribes behind keyward's back; the heartbeat PINGs that very connection.
 *
 * @example
 * ```ts
 * const transport = redisTransport(() => redis.duplicate({ autoResubscribe: false }), 'kw:keys:changed', 500, publish)
 * ```
 */
export function redisTransport(
  duplicate: () => RedisSubscriberConnection,
  channel: string,
  timeoutMs: number,
  publish: (payload: string) => Promise<unknown>,
): InvalidationTransport {
  // async: duplicate() throws when a Cluster knows no master yet; that is a rejected attempt.
  return { open: async (hooks) => openSubscriber(duplicate(), channel, timeoutMs, hooks), publish }
}

function openSubscriber(subscriber: RedisSubscriberConnection, channel: string, timeoutMs: number, hooks: TransportHooks) {
  return new Promise<TransportSession>((resolve, reject) => {
    let done = false
    let established = false
    const discard = () => {
      done = true
      clearTimeout(timer)
      subscriber.removeAllListeners()
      // ioredis may still report the closing socket's errors: never leave 'error' unheard.
      subscriber.on('error', () => {})
      subscriber.disconnect()
    }
    const fail = (error: unknown) => {
      if (done) return
      discard()
      if (established) hooks.lost(error)
      else reject(error instanceof Error ? error : new Error(String(error)))
    }
    const timer = setTimeout(() => fail(new Error(`keyward: Redis SUBSCRIBE timed out after ${timeoutMs} ms`)), timeoutMs)
    const session: TransportSession = {
      ping: () => subscriber.ping(),
      close: () => {
        if (!done) discard()
        return Promise.resolve()
      },
    }
    const subscribe = () => {
      if (done) return
      subscriber.subscribe(channel).then(() => {
        if (done) return
        clearTimeout(timer)
        established = true
        resolve(session)
      }, fail)
    }
    subscriber.on('error', fail)
    subscriber.on('close', () => fail(new Error('keyward: the Redis subscriber connection closed')))
    subscriber.on('end', () => fail(new Error('keyward: the Redis subscriber connection ended')))
    subscriber.on('message', (from: unknown, message: unknown) => {
      if (!done && from === channel) hooks.message(typeof message === 'string' ? message : undefined)
    })
    if (subscriber.status === 'ready') subscribe()
    else {
      subscriber.on('ready', subscribe)
      if (subscriber.status === 'wait') subscriber.connect().catch(fail)
    }
  })
}
