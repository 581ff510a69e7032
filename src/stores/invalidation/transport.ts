/**
 * What a subscription tells the {@link InvalidationChannel} it belongs to. A transport calls these
 * only for the session they were handed to; the channel ignores calls from a session it dropped.
 *
 * @example
 * ```ts
 * connection.on('notification', (m) => hooks.message(m.payload))
 * connection.on('end', () => hooks.lost(new Error('the LISTEN connection ended')))
 * ```
 */
export interface TransportHooks {
  /** A message on the store's channel: a key id, or `''`/`undefined` (everything may have changed). */
  message(payload: string | undefined): void
  /** The subscription is gone (its connection died) after `open()` resolved. The channel opens a new one. */
  lost(error: unknown): void
  /** The client re-established the subscription on its own (postgres.js does): messages may have been missed. */
  gap(): void
}

/**
 * One established subscription, from {@link InvalidationTransport.open}.
 *
 * @example
 * ```ts
 * const session: TransportSession = { ping: () => connection.query('SELECT 1'), close: () => connection.end() }
 * ```
 */
export interface TransportSession {
  /**
   * A round trip over the subscriber connection itself (a silent network loss emits no error);
   * rejects when it fails. Omitted when the client hides that connection: the self-test, which
   * must be heard on it, is then the heartbeat.
   */
  ping?(): Promise<unknown>
  /** Ends the subscription and the connection it owns. */
  close(): Promise<void>
}

/**
 * How one store subscribes to its invalidation channel; the reconnecting, the heartbeat, the
 * self-test and the flushes are the {@link InvalidationChannel}'s, the same for every store.
 *
 * @example
 * ```ts
 * const transport: InvalidationTransport = {
 *   open: async (hooks) => listenOnADedicatedConnection(hooks),
 *   publish: (payload) => pool.query('SELECT pg_notify($1, $2)', [channel, payload]),
 * }
 * ```
 */
export interface InvalidationTransport {
  /** Subscribes on a connection of its own; resolves once messages published from now on will be heard. */
  open(hooks: TransportHooks): Promise<TransportSession>
  /**
   * Publishes `payload` on the channel the way another instance would (through the store's own
   * client, not the subscriber connection): the self-test publishes a nonce and must hear it.
   */
  publish?(payload: string): Promise<unknown>
}
