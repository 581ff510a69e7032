/**
 * One suite, run against each adapter's managementRouter over real HTTP (127.0.0.1 and fetch).
 * Every framework test builds the same application:
 * - the management routes mounted under /admin (options passed through)
 * - GET /admin/health: the app's own handler, answering { ok: true } (the router passes it on)
 * - GET /api/ping: authenticate(kw), answering { keyId }
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { CreateKeyInput, Keyward, KeywardEvent, ManagementOptions, TokenStore } from 'keyward'
import { setup } from '../support/setup.js'

export type StartManagementApp = (kw: Keyward, options: ManagementOptions) => Promise<{ url: string; close: () => Promise<void> }>

/** A fresh, empty store for one test (its own schema or key prefix on a real server), and its closer. */
export type MakeStore = () => Promise<{ store: TokenStore; close: () => Promise<void> }>

export interface Reply {
  status: number
  headers: Headers
  text: string
  body: Record<string, unknown>
}

const ID = /^[0-9A-Za-z]{8}$/

export function managementContract(name: string, start: StartManagementApp, makeStore?: MakeStore): void {
  describe(`${name} managementRouter over HTTP`, () => {
    const closers: Array<() => Promise<void>> = []
    afterEach(async () => {
      await Promise.all(closers.splice(0).map((close) => close()))
    })

    async function serve(options: ManagementOptions = {}) {
      const events: KeywardEvent[] = []
      const backing = makeStore === undefined ? undefined : await makeStore()
      if (backing !== undefined) closers.push(backing.close)
      const s = setup({ onEvent: (event) => void events.push(event), ...(backing === undefined ? {} : { store: backing.store }) })
      const app = await start(s.kw, options)
      closers.push(app.close)
      const call = async (path: string, init: RequestInit & { key?: string; json?: unknown } = {}): Promise<Reply> => {
        const headers = new Headers(init.headers)
        if (init.key !== undefined) headers.set('authorization', `Bearer ${init.key}`)
        let body = init.body
        if (init.json !== undefined) {
          headers.set('content-type', 'application/json')
          body = JSON.stringify(init.json)
        }
        const res = await fetch(app.url + path, { ...init, headers, body })
        const text = await res.text()
        let parsed: Record<string, unknown> = {}
        try {
          parsed = JSON.parse(text) as Record<string, unknown>
        } catch {
          // Not JSON: the assertion on the body will say so.
        }
        return { status: res.status, headers: res.headers, text, body: parsed }
      }
      const admin = async (input: Partial<CreateKeyInput> = {}) => (await s.mint({ scopes: ['admin'], name: 'Admin', ...input })).key
      return { ...s, call, admin, events }
    }

    function expectProblem(reply: Reply, status: number, code: string): void {
      expect(reply.status, reply.text).toBe(status)
      expect(reply.headers.get('content-type')).toMatch(/^application\/problem\+json/)
      expect(reply.headers.get('cache-control')).toBe('no-store')
      expect(reply.body).toMatchObject({ status, code })
    }

    function expectNoSecrets(reply: Reply, keys: string[]): void {
      expect(reply.text).not.toMatch(/"hash"|"key"\s*:/)
      for (const key of keys) expect(reply.text).not.toContain(key)
    }

    it('POST /keys creates a key in the caller\'s org and returns it once, 201, no-store', async () => {
      const { call, admin, kw } = await serve()
      const adminKey = await admin()
      const reply = await call('/admin/keys', { method: 'POST', key: adminKey, json: { name: 'CI', projects: ['prod-site'], scopes: ['write'], allowedIps: ['203.0.113.10'], rateLimit: { limit: 5000, windowMs: 3_600_000 } } })
      expect(reply.status, reply.text).toBe(201)
      expect(reply.headers.get('cache-control')).toBe('no-store')
      expect(reply.headers.get('content-type')).toMatch(/^application\/json/)
      const { key, info } = reply.body as { key: string; info: Record<string, unknown> }
      expect(key).toMatch(/^bsk_live_/)
      expect(info).toMatchObject({ orgId: 'org_1', name: 'CI', scopes: ['write'], allowedIps: ['203.0.113.10'], rateLimit: [{ limit: 5000, windowMs: 3_600_000 }] })
      expect(info.id).toBe(key.slice(9, 17))
      expect(info).not.toHaveProperty('hash')
      const verified = await kw.verify({ headers: { authorization: `Bearer ${key}` }, ip: '203.0.113.10' })
      expect(verified.ok).toBe(true)
      // Never shown again.
      const shown = await call(`/admin/keys/${info.id as string}`, { key: adminKey })
      expectNoSecrets(shown, [key])
      const listed = await call('/admin/keys', { key: adminKey })
      expectNoSecrets(listed, [key, adminKey])
    })

    it('GET /keys pages through the org\'s keys with limit and the next cursor', async () => {
      const { call, admin, mint } = await serve()
      const adminKey = await admin()
      const minted = [adminKey]
      for (let i = 0; i < 6; i++) minted.push((await mint({ name: `k${i}` })).key)
      await mint({ orgId: 'org_2' })
      const ids: string[] = []
      let after: string | null = null
      let pages = 0
      do {
        const reply: Reply = await call(`/admin/keys?limit=3${after === null ? '' : `&after=${after}`}`, { key: adminKey })
        expect(reply.status, reply.text).toBe(200)
        expect(reply.headers.get('cache-control')).toBe('no-store')
        expectNoSecrets(reply, minted)
        const data = reply.body.data as Array<{ id: string; orgId: string }>
        expect(data.length).toBeLessThanOrEqual(3)
        for (const info of data) expect(info.orgId).toBe('org_1')
        ids.push(...data.map((d) => d.id))
        after = reply.body.next as string | null
        pages++
      } while (after !== null && pages < 10)
      expect(pages).toBe(3)
      expect(ids).toEqual(minted.map((k) => k.slice(9, 17)).sort())
    })

    it('GET /keys refuses bad query parameters, naming each', async () => {
      const { call, admin } = await serve()
      const reply = await call('/admin/keys?limit=0&after=nope&includeRevoked=yes&lmit=3', { key: await admin() })
      expectProblem(reply, 400, 'validation_failed')
      expect((reply.body.errors as Array<{ field: string }>).map((e) => e.field).sort()).toEqual(['after', 'includeRevoked', 'limit', 'lmit'])
    })

    it('org isolation: another org\'s key id is the same 404 as an id that does not exist, on every route', async () => {
      const { call, admin, mint, kw } = await serve()
      const adminKey = await admin()
      const theirs = await mint({ orgId: 'org_2' })
      const theirId = theirs.info.id
      const missing = theirId === 'AAAAAAAA' ? 'BBBBBBBB' : 'AAAAAAAA'
      const attempts = (id: string) => [
        call(`/admin/keys/${id}`, { key: adminKey }),
        call(`/admin/keys/${id}`, { method: 'PATCH', key: adminKey, json: { name: 'Mine now' } }),
        call(`/admin/keys/${id}/rotate`, { method: 'POST', key: adminKey, json: {} }),
        call(`/admin/keys/${id}`, { method: 'DELETE', key: adminKey }),
      ]
      const foreign = await Promise.all(attempts(theirId))
      const unknown = await Promise.all(attempts(missing))
      const malformed = await Promise.all(attempts('x'))
      for (let i = 0; i < foreign.length; i++) {
        expectProblem(foreign[i]!, 404, 'not_found')
        expect(foreign[i]!.text).toBe(unknown[i]!.text)
        expect(malformed[i]!.text).toBe(unknown[i]!.text)
        expect(foreign[i]!.text).not.toContain('org_2')
      }
      // Nothing of theirs changed, and their key still works.
      const after = await kw.keys.get(theirId)
      expect(after).toMatchObject({ name: 'Test key', revokedAt: null, rotatedTo: null })
      expect((await kw.verify({ headers: { authorization: `Bearer ${theirs.key}` } })).ok).toBe(true)
      // And the list shows none of theirs.
      const listed = await call('/admin/keys?includeRevoked=true', { key: adminKey })
      expect((listed.body.data as Array<{ id: string }>).map((d) => d.id)).not.toContain(theirId)
    })

    it('PATCH /keys/:id changes a key; bad fields are a 400 naming each one and change nothing', async () => {
      const { call, admin, mint, kw } = await serve()
      const adminKey = await admin()
      const { info } = await mint()
      const ok = await call(`/admin/keys/${info.id}`, { method: 'PATCH', key: adminKey, json: { name: 'Renamed', allowedOrigins: ['example.com'] } })
      expect(ok.status, ok.text).toBe(200)
      expect(ok.body).toMatchObject({ id: info.id, name: 'Renamed', allowedOrigins: ['example.com'] })
      const bad = await call(`/admin/keys/${info.id}`, { method: 'PATCH', key: adminKey, json: { name: '', allowedIps: ['999.1.1.1'], scopes: 'write', orgId: 'org_2' } })
      expectProblem(bad, 400, 'validation_failed')
      expect((bad.body.errors as Array<{ field: string }>).map((e) => e.field).sort()).toEqual(['allowedIps[0]', 'name', 'orgId', 'scopes'])
      expect(await kw.keys.get(info.id)).toMatchObject({ name: 'Renamed', allowedIps: [], scopes: ['read'] })
    })

    it('POST /keys validation: every bad field named, another org refused, nothing stored', async () => {
      const { call, admin, kw } = await serve()
      const adminKey = await admin()
      const bad = await call('/admin/keys', { method: 'POST', key: adminKey, json: { name: 'x'.repeat(101), projects: [], rateLimit: { limit: 0, windowMs: 1500 }, allowed_origins: ['a.com'] } })
      expectProblem(bad, 400, 'validation_failed')
      expect((bad.body.errors as Array<{ field: string }>).map((e) => e.field).sort()).toEqual(['allowed_origins', 'name', 'projects', 'rateLimit.limit', 'rateLimit.windowMs'])
      const foreign = await call('/admin/keys', { method: 'POST', key: adminKey, json: { name: 'x', projects: ['p'], orgId: 'org_2' } })
      expectProblem(foreign, 400, 'validation_failed')
      expect(foreign.body.errors).toEqual([{ field: 'orgId', message: "must be omitted or the caller's own organization" }])
      for (const body of ['[]', 'null', '"text"', '']) {
        const reply = await call('/admin/keys', { method: 'POST', key: adminKey, headers: { 'content-type': 'application/json' }, body })
        expectProblem(reply, 400, 'validation_failed')
      }
      const broken = await call('/admin/keys', { method: 'POST', key: adminKey, headers: { 'content-type': 'application/json' }, body: '{"name":' })
      expectProblem(broken, 400, 'validation_failed')
      expect(await kw.keys.list({ orgId: 'org_1' })).toHaveLength(1)
      expect(await kw.keys.list({ orgId: 'org_2' })).toHaveLength(0)
    })

    it('bounds the body (413), wants JSON (415), and nothing is stored', async () => {
      const { call, admin, kw } = await serve()
      const adminKey = await admin()
      const big = await call('/admin/keys', { method: 'POST', key: adminKey, json: { name: 'big', projects: ['p'], metadata: { pad: 'x'.repeat(17_000) } } })
      expectProblem(big, 413, 'payload_too_large')
      const form = await call('/admin/keys', { method: 'POST', key: adminKey, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'name=x&projects=p' })
      expectProblem(form, 415, 'unsupported_media_type')
      expect(await kw.keys.list({ orgId: 'org_1' })).toHaveLength(1)
    })

    it('a smaller maxBodyBytes is enforced', async () => {
      const { call, admin } = await serve({ maxBodyBytes: 256 })
      const reply = await call('/admin/keys', { method: 'POST', key: await admin(), json: { name: 'n', projects: ['p'], description: 'd'.repeat(300) } })
      expectProblem(reply, 413, 'payload_too_large')
    })

    it('unknown route 404, wrong method 405 with Allow, other paths left to the app', async () => {
      const { call, admin } = await serve()
      const adminKey = await admin()
      expectProblem(await call('/admin/keys/abcdefgh/rotate/now', { key: adminKey }), 404, 'route_not_found')
      const put = await call('/admin/keys', { method: 'PUT', key: adminKey, json: {} })
      expectProblem(put, 405, 'method_not_allowed')
      expect(put.headers.get('allow')).toBe('POST, GET')
      const rotateGet = await call('/admin/keys/abcdefgh/rotate', { key: adminKey })
      expectProblem(rotateGet, 405, 'method_not_allowed')
      expect(rotateGet.headers.get('allow')).toBe('POST')
      const health = await call('/admin/health')
      expect(health.status).toBe(200)
      expect(health.body).toEqual({ ok: true })
    })

    it('needs a credential (401) with the admin scope (403)', async () => {
      const { call, mint } = await serve()
      const none = await call('/admin/keys')
      expectProblem(none, 401, 'missing_credentials')
      const writer = await mint({ scopes: ['write'] })
      const weak = await call('/admin/keys', { key: writer.key })
      expectProblem(weak, 403, 'insufficient_scope')
      expect(weak.headers.get('www-authenticate')).toContain('scope="admin"')
      const forged = await call('/admin/keys', { key: 'bsk_live_' + 'A'.repeat(44) })
      expectProblem(forged, 401, 'invalid_token')
    })

    it('a custom authorize() decides per action; org isolation still holds', async () => {
      const seen: string[] = []
      const { call, mint } = await serve({
        authorize: (auth, action) => {
          seen.push(action)
          return auth.scopes.includes('write') && (action === 'keys.list' || action === 'keys.read')
        },
      })
      const writer = await mint({ scopes: ['write'] })
      expect((await call('/admin/keys', { key: writer.key })).status).toBe(200)
      expectProblem(await call('/admin/keys', { method: 'POST', key: writer.key, json: { name: 'n', projects: ['p'] } }), 403, 'insufficient_scope')
      expect(seen).toEqual(['keys.list', 'keys.create'])
    })

    it('POST /keys/:id/rotate returns the new key once; the old one stops at once or after the grace period', async () => {
      const { call, admin, mint, kw, clock } = await serve()
      const adminKey = await admin()
      const a = await mint()
      const now = await call(`/admin/keys/${a.info.id}/rotate`, { method: 'POST', key: adminKey })
      expect(now.status, now.text).toBe(200)
      const fresh = now.body as { key: string; info: { id: string; rotatedFrom: string } }
      expect(fresh.info.rotatedFrom).toBe(a.info.id)
      expect((await kw.verify({ headers: { authorization: `Bearer ${fresh.key}` } })).ok).toBe(true)
      expect((await kw.verify({ headers: { authorization: `Bearer ${a.key}` } })).ok).toBe(false)
      const b = await mint()
      const graced = await call(`/admin/keys/${b.info.id}/rotate`, { method: 'POST', key: adminKey, json: { gracePeriodMs: 60_000 } })
      expect(graced.status).toBe(200)
      expect((await kw.verify({ headers: { authorization: `Bearer ${b.key}` } })).ok).toBe(true)
      clock.advance(60_001)
      expect((await kw.verify({ headers: { authorization: `Bearer ${b.key}` } })).ok).toBe(false)
      const c = await mint()
      const bad = await call(`/admin/keys/${c.info.id}/rotate`, { method: 'POST', key: adminKey, json: { gracePeriodMs: -1, grace: '1h' } })
      expectProblem(bad, 400, 'validation_failed')
    })

    it('DELETE /keys/:id revokes: the very next request with that key is 401', async () => {
      const { call, admin, mint } = await serve()
      const adminKey = await admin()
      const { key, info } = await mint()
      expect((await call('/api/ping', { key })).status).toBe(200)
      const reply = await call(`/admin/keys/${info.id}`, { method: 'DELETE', key: adminKey })
      expect(reply.status, reply.text).toBe(200)
      expect(reply.body.revokedAt).toEqual(expect.any(String))
      const refused = await call('/api/ping', { key })
      expect(refused.status).toBe(401)
      expect(refused.body.code).toBe('invalid_token')
      // Idempotent, and the revoked key is still listed with includeRevoked.
      expect((await call(`/admin/keys/${info.id}`, { method: 'DELETE', key: adminKey })).status).toBe(200)
      const listed = await call('/admin/keys?includeRevoked=true', { key: adminKey })
      expect((listed.body.data as Array<{ id: string }>).map((d) => d.id)).toContain(info.id)
      const live = await call('/admin/keys', { key: adminKey })
      expect((live.body.data as Array<{ id: string }>).map((d) => d.id)).not.toContain(info.id)
    })

    it('reports audit events with who, when, key id and client address, never the secret', async () => {
      const { call, admin, events } = await serve()
      const adminKey = await admin()
      const adminId = adminKey.slice(9, 17)
      events.length = 0
      const created = await call('/admin/keys', { method: 'POST', key: adminKey, json: { name: 'n', projects: ['p'] } })
      const { key, info } = created.body as { key: string; info: { id: string } }
      await call(`/admin/keys/${info.id}`, { method: 'PATCH', key: adminKey, json: { name: 'm' } })
      const rotated = await call(`/admin/keys/${info.id}/rotate`, { method: 'POST', key: adminKey })
      const newId = (rotated.body as { info: { id: string } }).info.id
      await call(`/admin/keys/${newId}`, { method: 'DELETE', key: adminKey })
      await call('/api/ping', { key })
      const actor = { type: 'api_key', keyId: adminId, org: 'org_1' }
      expect(events.map((e) => e.type)).toEqual(['key.created', 'key.updated', 'key.rotated', 'key.revoked', 'verify.failed'])
      expect(events[0]).toMatchObject({ keyId: info.id, org: 'org_1', actor, ip: expect.stringMatching(/127\.0\.0\.1/) })
      expect(events[2]).toMatchObject({ keyId: info.id, rotatedTo: newId, actor })
      expect(events[3]).toMatchObject({ keyId: newId, actor })
      expect(events[4]).toMatchObject({ type: 'verify.failed', code: 'invalid_token', keyId: info.id, ip: expect.stringMatching(/127\.0\.0\.1/) })
      for (const event of events) {
        expect(event.at).toBeInstanceOf(Date)
        const text = JSON.stringify(event)
        expect(text).not.toContain(key)
        expect(text).not.toContain(adminKey)
      }
      expect(ID.test(newId)).toBe(true)
    })
  })
}
