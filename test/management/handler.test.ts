import { describe, expect, it } from 'vitest'
import { createManagementHandler, type ManagementRequest } from 'keyward'
import { setup } from '../support/setup.js'

async function admin() {
  const s = setup()
  const key = (await s.mint({ scopes: ['admin'], projects: ['p'] })).key
  const request = (extra: Partial<ManagementRequest>): ManagementRequest => ({
    method: 'POST',
    path: '/keys',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    ...extra,
  })
  return { ...s, key, request }
}

function stream(bytes: Uint8Array, chunk = 1024): ReadableStream<Uint8Array> {
  let at = 0
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close()
      controller.enqueue(bytes.subarray(at, (at += chunk)))
    },
  })
}

describe('createManagementHandler (no framework)', () => {
  it('checks its options at start-up', () => {
    const { kw } = setup()
    expect(() => createManagementHandler(kw, { maxBodyBytes: 10 })).toThrow(/maxBodyBytes/)
    expect(() => createManagementHandler(kw, { maxBodyBytes: 2 ** 21 })).toThrow(/maxBodyBytes/)
    expect(() => createManagementHandler(kw, { scope: 'bad scope' })).toThrow(/scope/)
    expect(() => createManagementHandler(kw, { authorize: true as never })).toThrow(/authorize/)
    expect(() => createManagementHandler(kw, { policy: {} as never })).toThrow(/policy must be a function/)
    expect(() => createManagementHandler({} as never)).toThrow(/createKeyward/)
    expect(() => createManagementHandler(kw, { basePath: '/x' } as never)).toThrow(/unknown management option "basePath"/)
    expect(() => createManagementHandler(kw, { cost: -1 })).toThrow(/cost must be an integer of at least 0/)
    expect(() => createManagementHandler(kw, { cost: 1.5 })).toThrow(/cost/)
  })

  it('bounds a streamed body without a Content-Length, stopping as soon as it is over', async () => {
    const { kw, request } = await admin()
    const handle = createManagementHandler(kw)
    const big = new TextEncoder().encode(JSON.stringify({ name: 'n', projects: ['p'], description: 'x'.repeat(20_000) }))
    let pulled = 0
    const counting = stream(big).pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({ transform: (c, ctl) => void ((pulled += c.length), ctl.enqueue(c)) }),
    )
    expect((await handle(request({ body: counting }))).status).toBe(413)
    expect(pulled).toBeLessThan(big.length)
    async function* chunks() {
      for (let i = 0; i < 40; i++) yield new Uint8Array(1024).fill(0x20)
    }
    expect((await handle(request({ body: chunks() }))).status).toBe(413)
    const small = new TextEncoder().encode(JSON.stringify({ name: 'streamed', projects: ['p'] }))
    expect((await handle(request({ body: stream(small, 7) }))).status).toBe(201)
    expect((await kw.keys.list({ orgId: 'org_1' })).map((k) => k.name).sort()).toEqual(['Test key', 'streamed'])
  })

  it('refuses a body that is not UTF-8', async () => {
    const { kw, request } = await admin()
    const reply = await createManagementHandler(kw)(request({ body: new Uint8Array([0x7b, 0xff, 0x7d]) }))
    expect(reply.status).toBe(400)
    expect(JSON.parse(reply.body).errors).toEqual([{ field: '(body)', message: 'must be UTF-8 text' }])
  })

  it('answers OPTIONS with the allowed methods, before any authentication', async () => {
    const { kw } = setup()
    const reply = await createManagementHandler(kw)({ method: 'OPTIONS', path: '/keys/abcdefgh', headers: {} })
    expect(reply).toEqual({ status: 204, headers: { allow: 'GET, PATCH, DELETE', 'cache-control': 'no-store' }, body: '' })
  })

  it('an authorize() that throws is a 500 that says nothing of the cause, and changes nothing', async () => {
    const { kw, request } = await admin()
    const seen: unknown[] = []
    const handle = createManagementHandler(kw, {
      authorize: () => {
        throw new Error('policy service at 10.0.0.5 down')
      },
      onError: (e) => void seen.push(e),
    })
    const reply = await handle(request({ body: JSON.stringify({ name: 'n', projects: ['p'] }) }))
    expect(reply.status).toBe(500)
    expect(reply.body).not.toContain('10.0.0.5')
    expect(JSON.parse(reply.body)).toMatchObject({ code: 'internal_error', status: 500 })
    expect(seen).toHaveLength(1)
    expect(await kw.keys.list({ orgId: 'org_1' })).toHaveLength(1)
  })

  it('an authorize() that answers anything but true refuses', async () => {
    const { kw, request } = await admin()
    const handle = createManagementHandler(kw, { authorize: () => 'yes' as never })
    expect((await handle(request({ method: 'GET' }))).status).toBe(403)
  })

  it('a credential in the URL is refused, as by authenticate()', async () => {
    const { kw, key, request } = await admin()
    const reply = await createManagementHandler(kw)(request({ method: 'GET', url: `/keys?api_key=${key}` }))
    expect(reply.status).toBe(400)
    expect(reply.body).not.toContain(key)
  })

  describe('credits', () => {
    it('are refused in a body by default (billing is the app’s), before the write policy runs', async () => {
      const { kw, request } = await admin()
      let policyRan = false
      const handle = createManagementHandler(kw, { policy: ({ input }) => ((policyRan = true), input) })
      const create = await handle(request({ body: JSON.stringify({ name: 'n', projects: ['p'], credits: { remaining: 5 } }) }))
      expect(create.status).toBe(403)
      expect(JSON.parse(create.body)).toMatchObject({ code: 'insufficient_scope', errors: [{ field: 'credits' }] })
      expect(policyRan).toBe(false)
      const { info } = await kw.keys.create({ name: 'k', orgId: 'org_1', projects: ['p'], credits: { remaining: 5 } })
      const patch = await handle(request({ method: 'PATCH', path: `/keys/${info.id}`, body: JSON.stringify({ credits: { add: 1000 } }) }))
      expect(patch.status).toBe(403)
      expect((await kw.keys.get(info.id))?.credits?.remaining).toBe(5)
    })

    it('the write policy may add them', async () => {
      const { kw, request } = await admin()
      const handle = createManagementHandler(kw, {
        policy: ({ action, input }) => (action === 'keys.create' ? { ...input, credits: { remaining: 100 } } : input),
      })
      const create = await handle(request({ body: JSON.stringify({ name: 'n', projects: ['p'] }) }))
      expect(create.status).toBe(201)
      expect(JSON.parse(create.body).info.credits).toEqual({ remaining: 100, refill: null })
    })

    it('with the credits option: set on create, topped up by PATCH, the live balance on GET', async () => {
      const { kw, request } = await admin()
      const handle = createManagementHandler(kw, { credits: true })
      const create = await handle(
        request({
          body: JSON.stringify({ name: 'n', projects: ['p'], credits: { remaining: 5, refill: { amount: 5, intervalMs: 86_400_000 } } }),
        }),
      )
      expect(create.status).toBe(201)
      const { key, info } = JSON.parse(create.body) as { key: string; info: { id: string } }
      expect((await kw.verify({ headers: { authorization: `Bearer ${key}` }, cost: 2 })).ok).toBe(true)
      const patch = await handle(request({ method: 'PATCH', path: `/keys/${info.id}`, body: JSON.stringify({ credits: { add: 10 } }) }))
      expect(patch.status).toBe(200)
      expect(JSON.parse(patch.body).credits).toEqual({ remaining: 13, refill: { amount: 5, intervalMs: 86_400_000 } })
      const read = await handle(request({ method: 'GET', path: `/keys/${info.id}`, body: undefined }))
      expect(JSON.parse(read.body).credits.remaining).toBe(13)
      const bad = await handle(request({ method: 'PATCH', path: `/keys/${info.id}`, body: JSON.stringify({ credits: { add: -1 } }) }))
      expect(bad.status).toBe(400)
      expect(JSON.parse(bad.body).errors).toEqual([{ field: 'credits.add', message: 'must be an integer from 1 to 1000000000000000' }])
    })

    it('a caller key that spends credits cannot create keys nor change credits, even with the credits option', async () => {
      const s = setup()
      const { key, info } = await s.mint({ scopes: ['admin'], projects: ['p'], credits: { remaining: 10 } })
      const request = (extra: Partial<ManagementRequest>): ManagementRequest => ({
        method: 'POST',
        path: '/keys',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        ...extra,
      })
      for (const handle of [createManagementHandler(s.kw), createManagementHandler(s.kw, { credits: true })]) {
        const create = await handle(request({ body: JSON.stringify({ name: 'free', projects: ['p'] }) }))
        expect(create.status).toBe(403)
        expect(JSON.parse(create.body)).toMatchObject({ code: 'insufficient_scope', errors: [{ field: 'credits' }] })
      }
      const handle = createManagementHandler(s.kw, { credits: true })
      const topUp = await handle(request({ method: 'PATCH', path: `/keys/${info.id}`, body: JSON.stringify({ credits: { add: 1000 } }) }))
      expect([topUp.status, JSON.parse(topUp.body).code]).toStrictEqual([403, 'insufficient_scope'])
      // With credits of its own too: a second balance beside the caller's.
      const metered = await handle(request({ body: JSON.stringify({ name: 'm', projects: ['p'], credits: { remaining: 1_000_000 } }) }))
      expect(metered.status).toBe(403)
      expect((await s.kw.keys.list({ orgId: 'org_1' })).map((k) => k.name).sort()).toStrictEqual(['Test key'])
      expect((await s.kw.keys.get(info.id, { credits: 'configured' }))?.credits?.remaining).toBe(10)
    })

    it("spend none of the caller's by default, so a caller whose balance ran out still revokes; the cost option meters calls", async () => {
      const s = setup()
      const { key, info } = await s.mint({ scopes: ['admin'], projects: ['p'], credits: { remaining: 1 } })
      const other = await s.mint({ scopes: ['read'], projects: ['p'] })
      const get = (path: string): ManagementRequest => ({ method: 'GET', path, headers: { authorization: `Bearer ${key}` } })
      const free = createManagementHandler(s.kw)
      for (let i = 0; i < 3; i++) expect((await free(get('/keys'))).status).toBe(200)
      expect((await s.kw.keys.get(info.id))?.credits?.remaining).toBe(1)
      const metered = createManagementHandler(s.kw, { cost: 1 })
      const spent = await metered(get('/keys'))
      expect([spent.status, spent.headers['credits-remaining']]).toStrictEqual([200, '0'])
      const refused = await metered(get('/keys'))
      expect([refused.status, JSON.parse(refused.body).code]).toStrictEqual([402, 'credits_exhausted'])
      // Out of credits, the caller still revokes a key through the default routes.
      const revoke = await free({ method: 'DELETE', path: `/keys/${other.info.id}`, headers: { authorization: `Bearer ${key}` } })
      expect(revoke.status).toBe(200)
      expect((await s.kw.keys.get(other.info.id))?.revokedAt).not.toBeNull()
      expect((await s.kw.keys.get(info.id))?.credits?.remaining).toBe(0)
      // Still counted against the caller key's rate limit, cost or no cost.
      const limited = await s.mint({
        scopes: ['admin'],
        projects: ['p'],
        credits: { remaining: 0 },
        rateLimit: { limit: 2, windowMs: 60_000 },
      })
      const asLimited: ManagementRequest = { method: 'GET', path: '/keys', headers: { authorization: `Bearer ${limited.key}` } }
      expect((await free(asLimited)).status).toBe(200)
      expect((await free(asLimited)).status).toBe(200)
      const third = await free(asLimited)
      expect([third.status, JSON.parse(third.body).code]).toStrictEqual([429, 'rate_limited'])
    })

    it('the lookup before a write reads the store alone, so a limiter outage cannot stop a revocation', async () => {
      const { kw, request } = await admin()
      const { info } = await kw.keys.create({ name: 'k', orgId: 'org_1', projects: ['p'], credits: { remaining: 5 } })
      const handle = createManagementHandler(kw)
      // The lookup before a write reads the store alone (credits: 'configured').
      const get = kw.keys.get.bind(kw.keys)
      const seen: unknown[] = []
      kw.keys.get = (id, options) => (seen.push(options), get(id, options))
      expect((await handle(request({ method: 'DELETE', path: `/keys/${info.id}`, body: undefined }))).status).toBe(200)
      expect(seen).toEqual([{ credits: 'configured' }])
    })
  })
})
