import type { RedisSubscriberConnection } from './invalidation/redis-transport.js'

// node-redis's subscriber, seen through the ioredis-shaped connection RedisTokenStore drives.
// Structural types only: the core never imports `redis` (an optional peer).

/**
 * What {@link RedisTokenStore} needs of a node-redis (v4/v5) client's `duplicate()`: connect,
 * SUBSCRIBE with a listener, PING, and its connection events.
 *
 * @example
 * ```ts
 * const subscriber: NodeRedisSubscriberClient = client.duplicate()
 * ```
 */
export interface NodeRedisSubscriberClient {
  readonly isOpen: boolean
  readonly isReady: boolean
  connect(): Promise<unknown>
  subscribe(channel: string, listener: (message: string, channel: string) => void): Promise<unknown>
  ping(): Promise<unknown>
  /** v5 spells it destroy(); v4 disconnect(). */
  destroy?(): unknown
  disconnect?(): Promise<unknown>
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- matches EventEmitter's signature
  on(event: string, listener: (...args: any[]) => void): unknown
  removeAllListeners(event?: string): unknown
}

type Listener = (...args: unknown[]) => void

/**
 * Wraps a node-redis subscriber client in ioredis's connection shape: 'ready' when connected
 * (node-redis resubscribes by itself before answering anything else), 'close' when it starts
 * reconnecting (the store flushes), 'end' when it is closed for good (the store opens another).
 * A disconnect is final (node-redis cannot be told to reconnect): the store then opens a new one.
 *
 * @example
 * ```ts
 * const connection = nodeRedisSubscriber(client.duplicate())
 * ```
 */
export function nodeRedisSubscriber(client: NodeRedisSubscriberClient): RedisSubscriberConnection {
  const listeners = new Map<string, Set<Listener>>()
  let status = 'wait'
  let ended = false
  const emit = (event: string, ...args: unknown[]) => {
    for (const listener of [...(listeners.get(event) ?? [])]) listener(...args)
  }
  const onMessage = (message: string, channel: string) => emit('message', channel, message)
  const end = () => {
    if (ended) return
    ended = true
    status = 'end'
    emit('close')
    emit('end')
  }
  client.on('error', (error: unknown) => emit('error', error))
  client.on('ready', () => {
    status = 'ready'
    emit('ready')
  })
  client.on('reconnecting', () => {
    if (status === 'ready') emit('close')
    status = 'reconnecting'
  })
  client.on('end', end)
  return {
    get status() {
      return status
    },
    connect: () => {
      status = 'connecting'
      return client.connect()
    },
    subscribe: (channel) => client.subscribe(channel, onMessage),
    ping: () => client.ping(),
    disconnect() {
      // Final, and said so: 'end' makes the store open a new connection when it still listens.
      try {
        if (typeof client.destroy === 'function') client.destroy()
        else void client.disconnect?.().catch(() => {})
      } catch {
        // Already closed.
      }
      end()
    },
    on(event, listener) {
      const set = listeners.get(event) ?? new Set()
      set.add(listener as Listener)
      listeners.set(event, set)
      return this
    },
    removeAllListeners(event) {
      if (event === undefined) listeners.clear()
      else listeners.delete(event)
      return this
    },
  }
}
