import { withTimeout } from '../../internal/timers.js'
import type { PostgresJsClient } from '../postgres-js.js'
import type { InvalidationTransport } from './transport.js'

/**
 * LISTEN through postgres.js's `listen()`. postgres.js keeps its listening connection to itself
 * and re-establishes it on its own: a second `onlisten` is reported as a gap (flush), and with no
 * connection to ping, the self-test is the heartbeat.
 *
 * @example
 * ```ts
 * const transport = postgresJsTransport(sql, 'keyward_keys', 500, publish)
 * ```
 */
export function postgresJsTransport(
  sql: PostgresJsClient,
  channel: string,
  timeoutMs: number,
  publish: (payload: string) => Promise<unknown>,
): InvalidationTransport {
  return {
    publish,
    open: async (hooks) => {
      let listens = 0
      let open = true
      const listening = sql.listen(
        channel,
        (payload) => {
          if (open) hooks.message(payload)
        },
        () => {
          listens += 1
          // Re-listened after a reconnection: whatever was announced in between was missed.
          if (open && listens > 1) hooks.gap()
        },
      )
      const { unlisten } = await withTimeout(listening, timeoutMs, 'Postgres LISTEN', (late) => void late.unlisten().catch(() => {}))
      return {
        close: async () => {
          open = false
          await withTimeout(unlisten(), timeoutMs, 'Postgres UNLISTEN')
        },
      }
    },
  }
}
