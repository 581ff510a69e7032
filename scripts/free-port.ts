/**
 * A TCP port nothing listens on right now, on 127.0.0.1: for the servers the tests, the benches
 * and the docs check start of their own (others may hold the usual ports). Tooling, not shipped.
 *
 * @example
 * ```ts
 * const port = await freePort()
 * spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1'])
 * ```
 */
import { createServer } from 'node:net'

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer().once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number }
      probe.close(() => resolve(port))
    })
  })
}
