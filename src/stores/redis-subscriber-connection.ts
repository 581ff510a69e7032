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
