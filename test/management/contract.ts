/**
 * One suite, run against each adapter's managementRouter over real HTTP (127.0.0.1 and fetch).
 * Every framework test builds the same application:
 * - the management routes mounted under /admin (options passed through)
 * - GET /admin/health: the app's own handler, answering { ok: true } (the router passes it on)
 * - GET /api/ping: authenticate(kw), answering { keyId }
 */
import { afterEach, describe, expect, it } from 'vitest'
import { KeywardError, type CreateKeyInput, type Keyward, type KeywardEvent, type ManagementOptions, type TokenStore } from 'keyward'
import { rawRequest } from '../hostile/support/raw-http.js'
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
      // The admin key holds the projects the tests create keys for: the grant ceiling covers projects.
      const admin = async (input: Partial<CreateKeyInput> = {}) =>
        (await s.mint({ scopes: ['admin'], name: 'Admin', projects: ['prod-site', 'p'], ...input })).key
      const ids = async () => (await s.kw.keys.list({ orgId: 'org_1', includeRevoked: true })).map((k) => k.id).sort()
      return { ...s, call, admin, events, ids, url: app.url }
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

    it("POST /keys creates a key in the caller's org and returns it once, 201, no-store", async () => {
      const { call, admin, kw } = await serve()
      const adminKey = await admin()
      const reply = await call('/admin/keys', {
        method: 'POST',
        key: adminKey,
        json: {
          name: 'CI',
          projects: ['prod-site'],
          scopes: ['write'],
          allowedIps: ['203.0.113.10'],
          rateLimit: { limit: 5000, windowMs: 3_600_000 },
        },
      })
      expect(reply.status, reply.text).toBe(201)
      expect(reply.headers.get('cache-control')).toBe('no-store')
      expect(reply.headers.get('content-type')).toMatch(/^application\/json/)
      const { key, info } = reply.body as { key: string; info: Record<string, unknown> }
      expect(key).toMatch(/^bsk_live_/)
      expect(info).toMatchObject({
        orgId: 'org_1',
        name: 'CI',
        scopes: ['write'],
        allowedIps: ['203.0.113.10'],
        rateLimit: [{ limit: 5000, windowMs: 3_600_000 }],
      })
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

    it("GET /keys pages through the org's keys with limit and the next cursor", async () => {
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
      expect((reply.body.errors as Array<{ field: string }>).map((e) => e.field).sort()).toEqual([
        'after',
        'includeRevoked',
        'limit',
        'lmit',
      ])
    })

    it("org isolation: another org's key id is the same 404 as an id that does not exist, on every route", async () => {
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
      const ok = await call(`/admin/keys/${info.id}`, {
        method: 'PATCH',
        key: adminKey,
        json: { name: 'Renamed', allowedOrigins: ['example.com'] },
      })
      expect(ok.status, ok.text).toBe(200)
      expect(ok.body).toMatchObject({ id: info.id, name: 'Renamed', allowedOrigins: ['example.com'] })
      const bad = await call(`/admin/keys/${info.id}`, {
        method: 'PATCH',
        key: adminKey,
        json: { name: '', allowedIps: ['999.1.1.1'], scopes: 'write', orgId: 'org_2' },
      })
      expectProblem(bad, 400, 'validation_failed')
      expect((bad.body.errors as Array<{ field: string }>).map((e) => e.field).sort()).toEqual(['allowedIps[0]', 'name', 'orgId', 'scopes'])
      expect(await kw.keys.get(info.id)).toMatchObject({ name: 'Renamed', allowedIps: [], scopes: ['read'] })
    })

    it('POST /keys validation: every bad field named, another org refused, nothing stored', async () => {
      const { call, admin, kw } = await serve()
      const adminKey = await admin()
      const bad = await call('/admin/keys', {
        method: 'POST',
        key: adminKey,
        json: { name: 'x'.repeat(101), projects: [], rateLimit: { limit: 0, windowMs: 1500 }, allowed_origins: ['a.com'] },
      })
      expectProblem(bad, 400, 'validation_failed')
      expect((bad.body.errors as Array<{ field: string }>).map((e) => e.field).sort()).toEqual([
        'allowed_origins',
        'name',
        'projects',
        'rateLimit.limit',
        'rateLimit.windowMs',
      ])
      const foreign = await call('/admin/keys', { method: 'POST', key: adminKey, json: { name: 'x', projects: ['p'], orgId: 'org_2' } })
      expectProblem(foreign, 400, 'validation_failed')
      expect(foreign.body.errors).toEqual([{ field: 'orgId', message: "must be omitted or the caller's own organization" }])
      for (const body of ['[]', 'null', '"text"', '']) {
        const reply = await call('/admin/keys', { method: 'POST', key: adminKey, headers: { 'content-type': 'application/json' }, body })
        expectProblem(reply, 400, 'validation_failed')
      }
      const broken = await call('/admin/keys', {
        method: 'POST',
        key: adminKey,
        headers: { 'content-type': 'application/json' },
        body: '{"name":',
      })
      expectProblem(broken, 400, 'validation_failed')
      expect(await kw.keys.list({ orgId: 'org_1' })).toHaveLength(1)
      expect(await kw.keys.list({ orgId: 'org_2' })).toHaveLength(0)
    })

    it('bounds the body (413), wants JSON (415), and nothing is stored', async () => {
      const { call, admin, kw } = await serve()
      const adminKey = await admin()
      const big = await call('/admin/keys', {
        method: 'POST',
        key: adminKey,
        json: { name: 'big', projects: ['p'], metadata: { pad: 'x'.repeat(17_000) } },
      })
      expectProblem(big, 413, 'payload_too_large')
      const form = await call('/admin/keys', {
        method: 'POST',
        key: adminKey,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'name=x&projects=p',
      })
      expectProblem(form, 415, 'unsupported_media_type')
      expect(await kw.keys.list({ orgId: 'org_1' })).toHaveLength(1)
    })

    it('a smaller maxBodyBytes is enforced', async () => {
      const { call, admin } = await serve({ maxBodyBytes: 256 })
      const reply = await call('/admin/keys', {
        method: 'POST',
        key: await admin(),
        json: { name: 'n', projects: ['p'], description: 'd'.repeat(300) },
      })
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
      expectProblem(
        await call('/admin/keys', { method: 'POST', key: writer.key, json: { name: 'n', projects: ['p'] } }),
        403,
        'insufficient_scope',
      )
      expect(seen).toEqual(['keys.list', 'keys.create'])
    })

    it('grant ceiling: a management-only key cannot mint admin, patch itself to admin or rotate an admin key; nothing stored', async () => {
      const { call, mint, kw, ids } = await serve({ scope: 'keys:manage' })
      const manager = await mint({ scopes: ['keys:manage'], projects: ['p'] })
      const strong = await mint({ scopes: ['admin'], projects: ['p'] })
      const before = await ids()
      const minted = await call('/admin/keys', {
        method: 'POST',
        key: manager.key,
        json: { name: 'escalate', projects: ['p'], scopes: ['admin'] },
      })
      expectProblem(minted, 403, 'insufficient_scope')
      expect(minted.body.scope).toBe('admin write read')
      expect(minted.headers.get('www-authenticate')).toContain('scope="admin write read"')
      expect(minted.body.errors).toEqual([{ field: 'scopes', message: 'the caller does not hold: admin, write, read' }])
      const patched = await call(`/admin/keys/${manager.info.id}`, {
        method: 'PATCH',
        key: manager.key,
        json: { scopes: ['keys:manage', 'admin'] },
      })
      expectProblem(patched, 403, 'insufficient_scope')
      const rotated = await call(`/admin/keys/${strong.info.id}/rotate`, { method: 'POST', key: manager.key })
      expectProblem(rotated, 403, 'insufficient_scope')
      expect(await ids()).toEqual(before)
      expect(await kw.keys.get(manager.info.id)).toMatchObject({ scopes: ['keys:manage'] })
      expect((await kw.verify({ headers: { authorization: `Bearer ${strong.key}` } })).ok).toBe(true)
      // Within its grant it works.
      const own = await call('/admin/keys', {
        method: 'POST',
        key: manager.key,
        json: { name: 'peer', projects: ['p'], scopes: ['keys:manage'] },
      })
      expect(own.status, own.text).toBe(201)
    })

    it('grant ceiling: an admin key cannot mint billing:refund nor a project it lacks', async () => {
      const { call, admin, ids } = await serve()
      const adminKey = await admin()
      const before = await ids()
      const refund = await call('/admin/keys', {
        method: 'POST',
        key: adminKey,
        json: { name: 'r', projects: ['p'], scopes: ['billing:refund'] },
      })
      expectProblem(refund, 403, 'insufficient_scope')
      expect(refund.body.scope).toBe('billing:refund')
      const elsewhere = await call('/admin/keys', { method: 'POST', key: adminKey, json: { name: 'r', projects: ['p', 'other'] } })
      expectProblem(elsewhere, 403, 'insufficient_scope')
      expect(elsewhere.body.errors).toEqual([{ field: 'projects', message: 'the caller does not hold: other' }])
      expect(await ids()).toEqual(before)
    })

    it('authorize(auth, action, call) also receives the input and the key concerned', async () => {
      const calls: Array<{ action: string; input: unknown; current: unknown; org: string }> = []
      const { call, admin, mint } = await serve({
        authorize: (auth, action, c) => {
          calls.push({ action: c.action, input: c.input, current: c.current?.id, org: c.auth.org })
          // An app restricting more: nobody here may hand out write, nor touch the key named Frozen.
          return (
            auth.scopes.includes('admin') &&
            action === c.action &&
            !(Array.isArray(c.input?.scopes) && c.input.scopes.includes('write')) &&
            c.current?.name !== 'Frozen'
          )
        },
      })
      const adminKey = await admin()
      const target = await mint({ projects: ['p'] })
      const frozen = await mint({ name: 'Frozen' })
      expect((await call('/admin/keys', { method: 'POST', key: adminKey, json: { name: 'n', projects: ['p'] } })).status).toBe(201)
      expectProblem(
        await call('/admin/keys', { method: 'POST', key: adminKey, json: { name: 'n', projects: ['p'], scopes: ['write'] } }),
        403,
        'insufficient_scope',
      )
      expect((await call(`/admin/keys/${target.info.id}`, { method: 'PATCH', key: adminKey, json: { name: 'm' } })).status).toBe(200)
      expectProblem(await call(`/admin/keys/${frozen.info.id}`, { method: 'DELETE', key: adminKey }), 403, 'insufficient_scope')
      expect(calls).toEqual([
        { action: 'keys.create', input: { name: 'n', projects: ['p'] }, current: undefined, org: 'org_1' },
        { action: 'keys.create', input: { name: 'n', projects: ['p'], scopes: ['write'] }, current: undefined, org: 'org_1' },
        { action: 'keys.update', input: { name: 'm' }, current: target.info.id, org: 'org_1' },
        { action: 'keys.revoke', input: undefined, current: frozen.info.id, org: 'org_1' },
      ])
    })

    it("write policy: sets defaults, allow-lists fields, checks projects in the app's data, keeps the name immutable", async () => {
      const orgProjects: Record<string, string[]> = { org_1: ['p', 'prod-site'] }
      const { call, admin, mint, kw, ids } = await serve({
        policy: async ({ action, auth, input }) => {
          if (action === 'keys.rotate') return { gracePeriodMs: 60_000, ...input }
          const allowed = action === 'keys.create' ? ['name', 'projects', 'expiresAt'] : ['projects', 'expiresAt', 'description']
          const errors = Object.keys(input)
            .filter((f) => !allowed.includes(f))
            .map((field) => ({
              field,
              message: action === 'keys.update' && field === 'name' ? 'cannot be changed: a key keeps its name' : 'cannot be set here',
            }))
          const known = await Promise.resolve(orgProjects[auth.org] ?? [])
          if (Array.isArray(input.projects))
            input.projects.forEach((p, i) => {
              if (!known.includes(p as string)) errors.push({ field: `projects[${i}]`, message: 'no such project in your organization' })
            })
          if (errors.length > 0) throw new KeywardError('validation_failed', { message: 'Refused by policy', errors })
          return action === 'keys.create' ? { ...input, scopes: ['read'], metadata: { createdVia: 'dashboard' } } : undefined
        },
      })
      const adminKey = await admin()
      const before = await ids()
      const fields = (r: Reply) => (r.body.errors as Array<{ field: string }>).map((e) => e.field).sort()
      const denied = await call('/admin/keys', {
        method: 'POST',
        key: adminKey,
        json: { name: 'n', projects: ['p', 'ghost'], scopes: ['admin'], allowedIps: [] },
      })
      expectProblem(denied, 400, 'validation_failed')
      expect(fields(denied)).toEqual(['allowedIps', 'projects[1]', 'scopes'])
      expect(await ids()).toEqual(before)
      const created = await call('/admin/keys', { method: 'POST', key: adminKey, json: { name: 'n', projects: ['p'] } })
      expect(created.status, created.text).toBe(201)
      expect(created.body.info as Record<string, unknown>).toMatchObject({ scopes: ['read'], metadata: { createdVia: 'dashboard' } })
      const target = await mint({ name: 'Original', projects: ['p'] })
      const rename = await call(`/admin/keys/${target.info.id}`, {
        method: 'PATCH',
        key: adminKey,
        json: { name: 'Renamed', description: 'ok' },
      })
      expectProblem(rename, 400, 'validation_failed')
      expect(rename.body.errors).toEqual([{ field: 'name', message: 'cannot be changed: a key keeps its name' }])
      expect(await kw.keys.get(target.info.id)).toMatchObject({ name: 'Original', description: null })
      const described = await call(`/admin/keys/${target.info.id}`, { method: 'PATCH', key: adminKey, json: { description: 'ok' } })
      expect(described.status, described.text).toBe(200)
      const rotated = await call(`/admin/keys/${target.info.id}/rotate`, { method: 'POST', key: adminKey })
      expect(rotated.status, rotated.text).toBe(200)
      // The policy's default grace period: the old key still works.
      expect((await kw.verify({ headers: { authorization: `Bearer ${target.key}` } })).ok).toBe(true)
    })

    it('write policy: a 403 refusal, a throw (500, cause kept) or a bad answer (500) stores nothing; restricts, never widens', async () => {
      const seen: unknown[] = []
      const { call, admin, mint, ids } = await serve({
        onError: (e) => void seen.push(e),
        policy: ({ input }) => {
          if (input.name === 'forbidden')
            throw new KeywardError('insufficient_scope', { message: 'Only owners create keys named forbidden' })
          if (input.name === 'crash') throw new Error('policy db at 10.0.0.7 down')
          if (input.name === 'junk') return 'yes' as never
          // A policy that tries to widen: the ceiling still applies after it.
          return { ...input, scopes: ['admin', 'billing:refund'] }
        },
      })
      const adminKey = await admin()
      const writer = await mint({ scopes: ['admin'], projects: ['p'] })
      const before = await ids()
      const forbidden = await call('/admin/keys', { method: 'POST', key: adminKey, json: { name: 'forbidden', projects: ['p'] } })
      expectProblem(forbidden, 403, 'insufficient_scope')
      expect(forbidden.body.detail).toBe('Only owners create keys named forbidden')
      const crash = await call('/admin/keys', { method: 'POST', key: adminKey, json: { name: 'crash', projects: ['p'] } })
      expectProblem(crash, 500, 'internal_error')
      expect(crash.text).not.toContain('10.0.0.7')
      expectProblem(
        await call('/admin/keys', { method: 'POST', key: adminKey, json: { name: 'junk', projects: ['p'] } }),
        500,
        'internal_error',
      )
      expect(seen).toHaveLength(2)
      const widened = await call('/admin/keys', { method: 'POST', key: writer.key, json: { name: 'widen', projects: ['p'] } })
      expectProblem(widened, 403, 'insufficient_scope')
      expect(widened.body.scope).toBe('billing:refund')
      expectProblem(
        await call(`/admin/keys/${writer.info.id}`, { method: 'PATCH', key: writer.key, json: { name: 'w' } }),
        403,
        'insufficient_scope',
      )
      expect(await ids()).toEqual(before)
    })

    it('two Authorization lines, an admin key then junk, are 400 invalid_request (raw socket)', async () => {
      const { admin, url } = await serve()
      const adminKey = await admin()
      const reply = await rawRequest(url, '/admin/keys', [
        ['Authorization', `Bearer ${adminKey}`],
        ['Authorization', 'Bearer junk'],
      ])
      expect(reply.status, reply.text).toBe(400)
      expect(reply.body.code).toBe('invalid_request')
      expect(reply.text).not.toContain(adminKey)
      // The same admin key alone is served, so the refusal is about the second line.
      expect((await rawRequest(url, '/admin/keys', [['Authorization', `Bearer ${adminKey}`]])).status).toBe(200)
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
      expect(events[4]).toMatchObject({
        type: 'verify.failed',
        code: 'invalid_token',
        keyId: info.id,
        ip: expect.stringMatching(/127\.0\.0\.1/),
      })
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
