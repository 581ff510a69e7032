import { withTimeout } from '../../internal/timers.js'
import type { InvalidationTransport, TransportHooks, TransportSession } from './transport.js'

/**
 * A connection the store LISTENs on: a pooled `pg` connection (released when done) or a `pg`
 * Client of its own (ended when done).
 *
 * @example
 * ```ts
 * const connection: PostgresListenConnection = await pool.connect()
 * ```
 */
export interface PostgresListenConnection {
  query(text: string): Promise<unknown>
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- matches EventEmitter's signature
  on(event: string, listener: (...args: any[]) => void): unknown
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- matches EventEmitter's signature
  removeListener(event: string, listener: (...args: any[]) => void): unknown
  /** Back to the pool; an error (or true) destroys the connection instead. Absent on a Client of its own. */
  release?(destroy?: Error | boolean): void
  /** Closes a Client of its own. */
  end?(): Promise<unknown>
}

/**
 * LISTEN on connections from `connect()`, one per session; the heartbeat is `SELECT 1` on that
 * connection. `connect` hands out a pooled connection (`pool.connect()`) or a new, connected
 * Client (the store's `listener` option).
 *
 * @example
 * ```ts
 * const transport = postgresConnectionTransport(() => pool.connect(), 'keyward_keys', 500, publish)
 * ```
 */
export function postgresConnectionTransport(
  connect: () => Promise<PostgresListenConnection>,
  channel: string,
  timeoutMs: number,
  publish: (payload: string) => Promise<unknown>,
): InvalidationTransport {
  return {
    publish,
    open: async (hooks) => {
      const connection = await withTimeout(connect(), timeoutMs, 'Postgres connect', (late) => void dispose(late, true))
      if (connection === null || typeof connection !== 'object' || typeof connection.on !== 'function') {
        throw new TypeError('keyward: the Postgres LISTEN connection is not a pg connection (query, on, release or end)')
      }
      return listenOn(connection, channel, timeoutMs, hooks)
    },
  }
}

/** Back to the pool (destroyed when `broken`), or ended when it is a Client of its own. */
function dispose(connection: PostgresListenConnection, broken: Error | boolean): Promise<void> {
  if (typeof connection.release === 'function') {
    connection.release(broken)
    return Promise.resolve()
  }
  return Promise.resolve(connection.end?.()).then(() => {})
}

async function listenOn(connection: PostgresListenConnection, channel: string, timeoutMs: number, hooks: TransportHooks) {
  let done = false
  let established = false
  const onNotification = (message: { channel?: unknown; payload?: unknown }) => {
    if (!done && message.channel === channel) hooks.message(typeof message.payload === 'string' ? message.payload : undefined)
  }
  const detach = () => {
    done = true
    connection.removeListener('notification', onNotification)
    connection.removeListener('end', onEnd)
    // The error listener stays: an error on a connection nobody listens to would crash the process.
  }
  const fail = (error: unknown) => {
    if (done) return
    detach()
    void dispose(connection, error instanceof Error ? error : true).catch(() => {})
    // Before LISTEN is established, the failing start itself reports (and retries).
    if (established) hooks.lost(error)
  }
  const onEnd = () => fail(new Error('keyward: the Postgres LISTEN connection ended'))
  connection.on('error', fail)
  connection.on('end', onEnd)
  connection.on('notification', onNotification)
  try {
    await withTimeout(connection.query(`LISTEN ${channel}`), timeoutMs, 'Postgres LISTEN')
  } catch (error) {
    if (!done) {
      detach()
      await dispose(connection, true).catch(() => {})
    }
    throw error
  }
  if (done) throw new Error('keyward: the Postgres LISTEN connection was lost while starting')
  established = true
  const session: TransportSession = {
    ping: () => connection.query('SELECT 1'),
    close: async () => {
      if (done) return
      detach()
      try {
        await withTimeout(connection.query(`UNLISTEN ${channel}`), timeoutMs, 'Postgres UNLISTEN')
      } catch (error) {
        await dispose(connection, true)
        throw error
      }
      await dispose(connection, false)
    },
  }
  return session
}

/** What PGlite offers: `listen()` resolving to the function that unlistens. */
export interface PGliteListener {
  listen(channel: string, callback: (payload: string) => void): Promise<() => Promise<void>>
}

/**
 * LISTEN through PGlite's `listen()`: in-process, so there is no connection to lose and no ping.
 *
 * @example
 * ```ts
 * const transport = pgliteTransport(db, 'keyward_keys', 500, publish)
 * ```
 */
export function pgliteTransport(
  client: PGliteListener,
  channel: string,
  timeoutMs: number,
  publish: (payload: string) => Promise<unknown>,
): InvalidationTransport {
  return {
    publish,
    open: async (hooks) => {
      const unlisten = await withTimeout(
        client.listen(channel, (payload) => hooks.message(payload)),
        timeoutMs,
        'Postgres LISTEN',
        (late) => void late().catch(() => {}),
      )
      return { close: () => withTimeout(unlisten(), timeoutMs, 'Postgres UNLISTEN') }
    },
  }
}
