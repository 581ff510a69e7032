import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import { createKeyward, MemoryTokenStore, type CreateKeyInput, type KeywardOptions } from 'keyward'

/** A keyward on a clock the test moves by hand (nothing sleeps), and a helper to mint keys. */
export function setup(options: Partial<KeywardOptions> = {}) {
  let t = Date.UTC(2026, 10, 22, 12, 0, 0)
  const clock = { now: () => t, advance: (ms: number) => void (t += ms) }
  const kw = createKeyward({ prefix: 'bsk', now: clock.now, usageFlushMs: false, store: new MemoryTokenStore(), ...options })
  const mint = async (input: Partial<CreateKeyInput> = {}) =>
    (await kw.keys.create({ name: 'Test key', orgId: 'org_1', projects: ['prod-site'], scopes: ['write'], ...input })).key
  return { kw, clock, mint }
}

/** A store that is down: every lookup rejects. Keys can still be minted into it. */
export class BrokenStore extends MemoryTokenStore {
  override findById(): Promise<never> {
    return Promise.reject(new Error('connection refused by db.internal:5432'))
  }
}

/** Listens on 127.0.0.1 on a free port; resolves with the base URL and a closer. */
export async function listen(server: Server): Promise<{ url: string; close: () => Promise<void> }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections()
        server.close((error) => (error ? reject(error) : resolve()))
      }),
  }
}
