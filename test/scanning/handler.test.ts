import { createHash } from 'node:crypto'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  createKeyward,
  createSecretScanningHandler,
  MemoryTokenStore,
  type KeywardEvent,
  type SecretScanningOptions,
} from '../../src/index.js'
import { generateKey } from '../../src/keys/format.js'
import { makeSigningKey, sign, startKeyServer, type KeyServer, type SigningKey } from './key-server.js'

const input = { name: 'Website', orgId: 'org_1', projects: ['site'] }

let server: KeyServer
let current: SigningKey
beforeAll(async () => {
  current = makeSigningKey('key-1')
  server = await startKeyServer([current])
})
afterAll(() => server.close())
afterEach(() => {
  server.published = [current]
  server.failWith = undefined
})

function setup(options: SecretScanningOptions = {}, store = new MemoryTokenStore()) {
  const events: KeywardEvent[] = []
  const errors: unknown[] = []
  const kw = createKeyward({ prefix: 'bsk', store, onEvent: (event) => void events.push(event), usageFlushMs: false })
  const handle = createSecretScanningHandler(kw, { keysUrl: server.url, onError: (e) => errors.push(e), ...options })
  return { kw, handle, events, errors }
}

function delivery(tokens: object[], key: SigningKey = current, signWith: SigningKey = key): Request {
  const body = JSON.stringify(tokens)
  return new Request('http://local/leaks', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'github-public-key-identifier': key.id,
      'github-public-key-signature': sign(signWith, body),
    },
    body,
  })
}

const sha = (text: string) => createHash('sha256').update(text).digest('hex')

describe('secret scanning handler', () => {
  it('revokes a reported key of ours, answers true_positive by hash, emits key.leaked without the key', async () => {
    const { kw, handle, events } = setup()
    const { key, info } = await kw.keys.create(input)
    const response = await handle(
      delivery([{ token: key, type: 'keyward_api_key', url: 'https://github.com/a/b/blob/main/.env', source: 'commit' }]),
    )
    expect(response.status).toBe(200)
    const text = await response.text()
    expect(text).not.toContain(key)
    expect(JSON.parse(text)).toEqual([{ token_hash: sha(key), token_type: 'keyward_api_key', label: 'true_positive' }])
    expect((await kw.keys.get(info.id))?.revokedAt).not.toBeNull()
    expect((await kw.verify({ headers: { authorization: `Bearer ${key}` }, project: 'site' })).ok).toBe(false)
    const leaked = events.find((e) => e.type === 'key.leaked')
    expect(leaked).toMatchObject({
      keyId: info.id,
      org: 'org_1',
      leak: { action: 'revoked', url: 'https://github.com/a/b/blob/main/.env', source: 'commit' },
    })
    expect(leaked?.actor).toEqual({ type: 'secret_scanning' })
    expect(JSON.stringify(events)).not.toContain(key.slice(17))
  })

  it('labels a token that is not ours false_positive and changes nothing', async () => {
    const { kw, handle, events } = setup()
    const { info } = await kw.keys.create(input)
    // Well-formed, right prefix, existing id, wrong secret: the hash decides, not the id.
    const forged = generateKey('bsk', 'live', info.id).key
    const foreign = generateKey('xyz', 'live').key
    const response = await handle(
      delivery([
        { token: forged, type: 't' },
        { token: foreign, type: 't' },
        { token: 'bsk_live_garbage', type: 't' },
      ]),
    )
    expect(response.status).toBe(200)
    expect((await response.json()).map((a: { label: string }) => a.label)).toEqual(['false_positive', 'false_positive', 'false_positive'])
    expect((await kw.keys.get(info.id))?.revokedAt).toBeNull()
    expect(events.filter((e) => e.type === 'key.leaked' || e.type === 'key.revoked')).toEqual([])
  })

  it('only flags with revoke: false, and answers token_raw when asked', async () => {
    const { kw, handle, events } = setup({ revoke: false, answerWith: 'token_raw' })
    const { key, info } = await kw.keys.create(input)
    const response = await handle(delivery([{ token: key, type: 't' }]))
    expect(await response.json()).toEqual([{ token_raw: key, token_type: 't', label: 'true_positive' }])
    expect((await kw.keys.get(info.id))?.revokedAt).toBeNull()
    expect(events.find((e) => e.type === 'key.leaked')?.leak?.action).toBe('flagged')
  })

  it('reports an already-revoked key as true_positive, already_revoked, without writing again', async () => {
    const { kw, handle, events } = setup()
    const { key, info } = await kw.keys.create(input)
    const revoked = await kw.keys.revoke(info.id)
    const response = await handle(delivery([{ token: key, type: 't' }]))
    expect((await response.json())[0].label).toBe('true_positive')
    expect((await kw.keys.get(info.id))?.updatedAt).toEqual(revoked.updatedAt)
    expect(events.filter((e) => e.type === 'key.revoked')).toHaveLength(1)
    expect(events.find((e) => e.type === 'key.leaked')?.leak?.action).toBe('already_revoked')
  })

  it('refuses a forged signature (another key signed it) with 401 and revokes nothing', async () => {
    const { kw, handle } = setup()
    const { key, info } = await kw.keys.create(input)
    const attacker = makeSigningKey('key-1')
    const response = await handle(delivery([{ token: key, type: 't' }], current, attacker))
    expect(response.status).toBe(401)
    expect((await response.json()).code).toBe('invalid_signature')
    expect((await kw.keys.get(info.id))?.revokedAt).toBeNull()
  })

  it('refuses a body changed after signing, and a missing signature', async () => {
    const { kw, handle } = setup()
    const { key, info } = await kw.keys.create(input)
    const signed = JSON.stringify([{ token: 'bsk_live_x', type: 't' }])
    const tampered = new Request('http://local/leaks', {
      method: 'POST',
      headers: { 'github-public-key-identifier': current.id, 'github-public-key-signature': sign(current, signed) },
      body: JSON.stringify([{ token: key, type: 't' }]),
    })
    expect((await handle(tampered)).status).toBe(401)
    const unsigned = new Request('http://local/leaks', { method: 'POST', body: JSON.stringify([{ token: key, type: 't' }]) })
    expect((await handle(unsigned)).status).toBe(401)
    expect((await kw.keys.get(info.id))?.revokedAt).toBeNull()
  })

  it('fetches the list again for an unknown key id (rotation), at most once per floor', async () => {
    const { kw, handle } = setup({ keysRefetchMs: 0 })
    const { key, info } = await kw.keys.create(input)
    expect((await handle(delivery([{ token: 'bsk_live_x', type: 't' }]))).status).toBe(200)
    const before = server.hits
    const rotated = makeSigningKey('key-2')
    server.published = [rotated, current]
    expect((await handle(delivery([{ token: key, type: 't' }], rotated))).status).toBe(200)
    expect(server.hits).toBe(before + 1)
    expect((await kw.keys.get(info.id))?.revokedAt).not.toBeNull()

    // With a floor, made-up key ids cannot make the handler fetch again and again.
    const floored = setup({ keysRefetchMs: 60_000 })
    expect((await floored.handle(delivery([{ token: 'bsk_live_x', type: 't' }]))).status).toBe(200)
    const hits = server.hits
    for (let i = 0; i < 5; i++)
      expect((await floored.handle(delivery([{ token: 'x', type: 't' }], makeSigningKey(`made-up-${i}`)))).status).toBe(401)
    expect(server.hits).toBe(hits)
  })

  it('answers 503 when the key list cannot be fetched, and tells onError', async () => {
    server.failWith = 500
    const { kw, handle, errors } = setup()
    const { key, info } = await kw.keys.create(input)
    const response = await handle(delivery([{ token: key, type: 't' }]))
    expect(response.status).toBe(503)
    expect(errors.length).toBeGreaterThan(0)
    expect((await kw.keys.get(info.id))?.revokedAt).toBeNull()
  })

  it('refuses a replayed delivery with 409, doing nothing again', async () => {
    const { kw, handle, events } = setup({ revoke: false })
    const { key } = await kw.keys.create(input)
    const tokens = [{ token: key, type: 't' }]
    expect((await handle(delivery(tokens))).status).toBe(200)
    const replay = await handle(delivery(tokens))
    expect(replay.status).toBe(409)
    expect((await replay.json()).code).toBe('replayed')
    expect(events.filter((e) => e.type === 'key.leaked')).toHaveLength(1)
  })

  it('accepts the same delivery again once its window has passed', async () => {
    let now = 1_000_000
    const { kw, handle } = setup({ replayWindowMs: 60_000, now: () => now })
    const tokens = [{ token: 'bsk_live_x', type: 't' }]
    void kw
    expect((await handle(delivery(tokens))).status).toBe(200)
    expect((await handle(delivery(tokens))).status).toBe(409)
    now += 60_001
    expect((await handle(delivery(tokens))).status).toBe(200)
  })

  it('refuses an oversized body with 413 (declared or streamed) and too many tokens', async () => {
    const { handle } = setup({ maxBodyBytes: 1024, maxTokens: 2 })
    const big = delivery([{ token: 'x'.repeat(2000), type: 't' }])
    expect((await handle(big)).status).toBe(413)
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(new Uint8Array(512).fill(32))
      },
    })
    const endless = new Request('http://local/leaks', {
      method: 'POST',
      headers: { 'github-public-key-identifier': current.id, 'github-public-key-signature': 'AAAA' },
      body: stream,
      duplex: 'half',
    } as RequestInit)
    expect((await handle(endless)).status).toBe(413)
    const many = delivery([1, 2, 3].map((i) => ({ token: `t${i}`, type: 't' })))
    expect((await handle(many)).status).toBe(413)
  })

  it('refuses a signed body that is not the protocol array with 400, and GET with 405', async () => {
    const { handle } = setup()
    expect((await handle(delivery({ token: 'x' } as unknown as object[]))).status).toBe(400)
    expect((await handle(delivery([{ token: 1, type: 't' }]))).status).toBe(400)
    expect((await handle(new Request('http://local/leaks'))).status).toBe(405)
  })

  it('answers 503 on a store failure, keeps no replay claim, and the retry succeeds', async () => {
    const store = new MemoryTokenStore()
    const { kw, handle, errors } = setup({}, store)
    const { key, info } = await kw.keys.create(input)
    const findById = store.findById.bind(store)
    store.findById = () => Promise.reject(new Error('connection reset'))
    const tokens = [{ token: key, type: 't' }]
    const failed = await handle(delivery(tokens))
    expect(failed.status).toBe(503)
    expect((await failed.json()).code).toBe('store_unavailable')
    expect(errors).toContainEqual(new Error('connection reset'))
    expect((await kw.keys.get(info.id).catch(() => null))?.revokedAt ?? null).toBeNull()
    store.findById = findById
    expect((await kw.keys.get(info.id))?.revokedAt).toBeNull()
    const retry = await handle(delivery(tokens))
    expect(retry.status).toBe(200)
    expect((await kw.keys.get(info.id))?.revokedAt).not.toBeNull()
  })

  it('checks its options', () => {
    const kw = createKeyward({ prefix: 'bsk' })
    expect(() => createSecretScanningHandler(kw, { keysUrl: 'ftp://x' })).toThrow(/keysUrl/)
    expect(() => createSecretScanningHandler(kw, { revokee: false } as SecretScanningOptions)).toThrow(/revokee/)
    expect(() => createSecretScanningHandler({} as never)).toThrow(TypeError)
  })
})
