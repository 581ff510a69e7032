import { describe, expect, it } from 'vitest'
import { createKeyward, createSecretScanningHandler, MemoryTokenStore, type SecretScanningOptions } from '../../src/index.js'
import { PublicKeySet } from '../../src/scanning/public-keys.js'
import { makeSigningKey, sign } from './key-server.js'

// The key list fetch under a host that hangs, floods or stays down (security review r1, F2–F5).
const host = makeSigningKey('k1')
const published = () => Response.json({ public_keys: [{ key_identifier: 'k1', key: host.publicPem }] })
const never = () => new Promise<Response>(() => {})

function setup(options: SecretScanningOptions) {
  const errors: unknown[] = []
  const kw = createKeyward({ prefix: 'bsk', store: new MemoryTokenStore(), usageFlushMs: false })
  const handle = createSecretScanningHandler(kw, { onError: (e) => errors.push(e), ...options })
  return { handle, errors }
}

let n = 0
function delivery(body = `[${' '.repeat(n++)}]`): Request {
  return new Request('http://local/leaks', {
    method: 'POST',
    headers: { 'github-public-key-identifier': host.id, 'github-public-key-signature': sign(host, body) },
    body,
  })
}

/** A body stream that counts what was pulled from it and never ends on its own. */
function endless(chunkBytes: number, stopAfter = Infinity) {
  const state = { pulled: 0, stream: undefined as unknown as ReadableStream<Uint8Array> }
  state.stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (state.pulled >= stopAfter) return controller.close()
      state.pulled += chunkBytes
      controller.enqueue(new Uint8Array(chunkBytes).fill(0x20))
    },
  })
  return state
}

describe('secret scanning key list', () => {
  it('a fetch that never answers fails after keysTimeoutMs: 503, onError told, the delivery body never read', async () => {
    let signal: AbortSignal | undefined
    let clock = 1_000_000
    let calls = 0
    const { handle, errors } = setup({
      now: () => clock,
      keysTimeoutMs: 50,
      fetch: (_url, init) => {
        calls++
        signal = init?.signal ?? undefined
        return never()
      },
    })
    const body = endless(1024)
    const request = new Request('http://local/leaks', {
      method: 'POST',
      headers: { 'github-public-key-identifier': host.id, 'github-public-key-signature': 'AAAA' },
      body: body.stream,
      duplex: 'half',
    } as RequestInit)
    const response = await handle(request)
    expect(response.status).toBe(503)
    expect(String(errors[0])).toMatch(/did not arrive within 50 ms/)
    expect(signal?.aborted).toBe(true)
    expect(body.pulled).toBeLessThanOrEqual(1024) // at most what the stream pre-fills, never the body
    // Within the floor a failed fetch is not retried: 503 at once, no new fetch (made-up ids or not).
    expect((await handle(delivery())).status).toBe(503)
    expect(calls).toBe(1)
    // Past the floor the shared fetch, cleared, is tried again instead of waiting on the dead one.
    clock += 60_000
    expect((await handle(delivery())).status).toBe(503)
    expect(calls).toBe(2)
    expect(errors).toHaveLength(2)
  })

  it('made-up key ids against a failing host start at most one fetch per floor (security review r4)', async () => {
    let clock = 1_000_000
    let calls = 0
    const keys = new PublicKeySet({
      url: 'https://keys.example/',
      ttlMs: 3_600_000,
      minRefetchMs: 60_000,
      timeoutMs: 1000,
      maxStaleMs: 86_400_000,
      headers: {},
      now: () => clock,
      onError: () => {},
      fetch: async () => (calls++ === 0 ? published() : new Response('rate limited', { status: 403 })),
    })
    expect(await keys.get('k1')).not.toBe('unknown')
    // The list is due, its refresh fails; then a stream of made-up ids.
    clock += 3_600_000
    for (let i = 0; i < 20; i++) {
      clock += 1
      expect(await keys.get(`made-up-${i}`)).toMatch(/^(unknown|unavailable)$/)
    }
    expect(calls).toBe(2)
    clock += 60_000
    await keys.get('made-up-again')
    expect(calls).toBe(3)
    // No list at all and the host down from the start: still one fetch per floor.
    let downCalls = 0
    const down = new PublicKeySet({
      url: 'https://keys.example/',
      ttlMs: 3_600_000,
      minRefetchMs: 60_000,
      timeoutMs: 1000,
      maxStaleMs: 86_400_000,
      headers: {},
      now: () => clock,
      onError: () => {},
      fetch: async () => (downCalls++, new Response('rate limited', { status: 403 })),
    })
    for (let i = 0; i < 10; i++) {
      clock += 1
      expect(await down.get(`k${i}`)).toBe('unavailable')
    }
    expect(downCalls).toBe(1)
  })

  it('a known key is served from the cached list while a due refresh hangs', async () => {
    let clock = 1_000_000
    let calls = 0
    let hang = false
    const { handle } = setup({
      now: () => clock,
      keysTimeoutMs: 60_000,
      fetch: () => {
        calls++
        return hang ? never() : Promise.resolve(published())
      },
    })
    expect((await handle(delivery())).status).toBe(200)
    hang = true
    clock += 3_600_000
    expect((await handle(delivery())).status).toBe(200)
    clock += 1000
    expect((await handle(delivery())).status).toBe(200)
    expect(calls).toBe(2) // one refresh, shared, none waited on
  })

  it('reads the list bounded: an endless body and a declared oversize are refused without buffering them', async () => {
    const big = endless(65_536, 64 * 1_048_576)
    const endlessList = setup({ fetch: async () => new Response(big.stream) })
    expect((await endlessList.handle(delivery())).status).toBe(503)
    expect(String(endlessList.errors[0])).toMatch(/larger than 262144 bytes/)
    expect(big.pulled).toBeLessThanOrEqual(262_144 + 2 * 65_536)

    const declared = endless(65_536, 64 * 1_048_576)
    const declaredList = setup({ fetch: async () => new Response(declared.stream, { headers: { 'content-length': String(1_048_576) } }) })
    expect((await declaredList.handle(delivery())).status).toBe(503)
    expect(declared.pulled).toBeLessThanOrEqual(65_536)
  })

  it('serves a stale list while refreshes fail for at most keysMaxStaleMs past the TTL, then 503', async () => {
    let clock = 1_000_000
    let down = false
    const { handle } = setup({
      now: () => clock,
      keysTtlMs: 60_000,
      keysMaxStaleMs: 600_000,
      fetch: async () => (down ? new Response(null, { status: 500 }) : published()),
    })
    expect((await handle(delivery())).status).toBe(200)
    down = true
    clock += 60_000 + 600_000 - 1
    expect((await handle(delivery())).status).toBe(200)
    clock += 1
    expect((await handle(delivery())).status).toBe(503)
    down = false
    // The failed attempt just now holds the next one back for the floor (keysRefetchMs, 60 s).
    expect((await handle(delivery())).status).toBe(503)
    clock += 60_000
    expect((await handle(delivery())).status).toBe(200)
  })

  it('requires an https keysUrl except on loopback hosts or with allowInsecureKeysUrl', () => {
    const kw = createKeyward({ prefix: 'bsk' })
    expect(() => createSecretScanningHandler(kw, { keysUrl: 'http://keys.example.com/list' })).toThrow(TypeError)
    expect(() => createSecretScanningHandler(kw, { keysUrl: 'http://keys.example.com/list' })).toThrow(/keysUrl.*allowInsecureKeysUrl/)
    expect(() => createSecretScanningHandler(kw, { keysUrl: 'http://127.0.0.1.example.com/list' })).toThrow(/keysUrl/)
    for (const keysUrl of ['https://keys.example.com/list', 'http://127.0.0.1:8080/k', 'http://[::1]:8080/k', 'http://localhost/k'])
      expect(() => createSecretScanningHandler(kw, { keysUrl })).not.toThrow()
    expect(() => createSecretScanningHandler(kw, { keysUrl: 'http://keys.example.com/list', allowInsecureKeysUrl: true })).not.toThrow()
    expect(() => createSecretScanningHandler(kw, { allowInsecureKeysUrl: 'yes' as unknown as boolean })).toThrow(/allowInsecureKeysUrl/)
    expect(() => createSecretScanningHandler(kw, { keysTimeoutMs: 0 })).toThrow(/keysTimeoutMs/)
    expect(() => createSecretScanningHandler(kw, { keysMaxStaleMs: -1 })).toThrow(/keysMaxStaleMs/)
  })
})
