import { createServer } from 'node:http'
import express from 'express'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { managementOpenApi, MemoryTokenStore, type Keyward } from 'keyward'
import { MANAGEMENT_ROUTES } from '../../src/management/routes.js'
import { managementRouter } from '../../adapters/express.js'
import { listen } from '../adapters/support.js'
import { setup } from '../support/setup.js'
import { openApiValidator } from './openapi-validator.js'

type Json = Record<string, unknown>
const doc = managementOpenApi() as Json
const paths = doc.paths as Record<string, Record<string, Json>>
const { check, compileAll } = openApiValidator(doc)

class DownStore extends MemoryTokenStore {
  override findById(): Promise<never> {
    return Promise.reject(new Error('down'))
  }
}

/** The documented response of an operation for a status, or undefined when it is not documented. */
function documented(pattern: string, method: string, status: number): { type: string; schema: Json } | undefined {
  const responses = paths[pattern]?.[method.toLowerCase()]?.responses as Record<string, Json> | undefined
  const response = responses?.[String(status)]
  if (response === undefined) return undefined
  const [type, media] = Object.entries(response.content as Record<string, { schema: Json }>)[0]!
  return { type, schema: media.schema }
}

describe('managementOpenApi()', () => {
  it('is an OpenAPI 3.1 document listing exactly the routes the handler serves', () => {
    expect(doc.openapi).toBe('3.1.0')
    const listed = Object.entries(paths).flatMap(([pattern, item]) =>
      Object.keys(item)
        .filter((k) => k !== 'parameters')
        .map((m) => `${m.toUpperCase()} ${pattern}`),
    )
    // The key routes, and the two the <keyward-keys> component reads.
    const served = [...MANAGEMENT_ROUTES.map((r) => `${r.method} ${r.pattern}`), 'GET /capabilities', 'GET /ui/keyward-keys.js']
    expect(listed.sort()).toEqual(served.sort())
    expect(managementOpenApi()).not.toBe(managementOpenApi())
  })

  it('every named schema compiles under ajv strict mode (no keyword ajv would silently skip)', () => {
    expect(() => compileAll()).not.toThrow()
    // The same check refuses a misspelt keyword, which a lax validator would ignore (and pass anything).
    const typo = openApiValidator({ openapi: '3.1.0', components: { schemas: { Rule: { type: 'integer', multipleof: 1000 } } } })
    expect(() => typo.compileAll()).toThrow(/unknown keyword: "multipleof"/)
  })

  it('the validator itself refuses what the schemas forbid', () => {
    const keyInfo = { $ref: '#/components/schemas/KeyInfo' }
    expect(check({ id: 'x' }, keyInfo)).toContain("$: must have required property 'displayPrefix'")
    expect(check({ data: [], next: 5 }, { $ref: '#/components/schemas/KeyList' })).toContain(
      '/next: must match exactly one schema in oneOf',
    )
    expect(
      check({ type: 'about:blank', title: 't', status: '400', detail: 'd', code: 'c' }, { $ref: '#/components/schemas/Problem' }),
    ).toEqual(['/status: must be integer'])
    expect(check({ type: 'no scheme', title: 't', status: 400, detail: 'd', code: 'c' }, { $ref: '#/components/schemas/Problem' })).toEqual(
      ['/type: must match format "uri"'],
    )
    expect(check({ name: 'n', projects: ['p'], expiresAt: 'tomorrow' }, { $ref: '#/components/schemas/CreateKeyInput' })).toContain(
      '/expiresAt: must match format "date-time"',
    )
  })

  it('describes credits: a balance to set on create, a set or a top-up on update, the balance in KeyInfo', () => {
    const create = { $ref: '#/components/schemas/CreateKeyInput' }
    const update = { $ref: '#/components/schemas/UpdateKeyInput' }
    expect(check({ name: 'n', projects: ['p'], credits: { remaining: 5, refill: { amount: 5, intervalMs: 86_400_000 } } }, create)).toEqual(
      [],
    )
    expect(check({ name: 'n', projects: ['p'], credits: { add: 5 } }, create)).not.toEqual([])
    expect(check({ name: 'n', projects: ['p'], credits: { remaining: -1 } }, create)).not.toEqual([])
    expect(check({ credits: { add: 5 } }, update)).toEqual([])
    expect(check({ credits: null }, update)).toEqual([])
    expect(check({ credits: { add: 5, remaining: 1 } }, update)).not.toEqual([])
    expect(check({ credits: { remaining: 5, refill: { amount: 5, intervalMs: 10 } } }, update)).not.toEqual([])
  })

  it('refuses a windowMs that is not a whole number of seconds (multipleOf: 1000)', () => {
    const input = { $ref: '#/components/schemas/CreateKeyInput' }
    expect(check({ name: 'n', projects: ['p'], rateLimit: { limit: 1, windowMs: 2000 } }, input)).toEqual([])
    expect(check({ name: 'n', projects: ['p'], rateLimit: { limit: 1, windowMs: 1500 } }, input)).toContain(
      '/rateLimit/windowMs: must be multiple of 1000',
    )
  })

  describe("matches the routes' real responses (Express over HTTP)", () => {
    let url = ''
    let close: () => Promise<void> = async () => {}
    let downUrl = ''
    let closeDown: () => Promise<void> = async () => {}
    let kw: Keyward
    let admin = ''
    let writer = ''
    let target = ''
    let foreign = ''
    const seen = new Set<string>()

    beforeAll(async () => {
      const s = setup()
      kw = s.kw
      admin = (await s.mint({ scopes: ['admin'], projects: ['prod-site', 'p'] })).key
      writer = (await s.mint({ scopes: ['write'] })).key
      target = (await s.mint({ description: 'target' })).info.id
      foreign = (await s.mint({ orgId: 'org_2' })).info.id
      const app = express()
      app.use(managementRouter(kw))
      ;({ url, close } = await listen(createServer(app)))
      const down = setup({ store: new DownStore() })
      const downApp = express()
      downApp.use(managementRouter(down.kw))
      ;({ url: downUrl, close: closeDown } = await listen(createServer(downApp)))
    })
    afterAll(async () => {
      await close()
      await closeDown()
    })

    async function expectDocumented(
      pattern: string,
      method: string,
      path: string,
      init: { key?: string; json?: unknown; raw?: string; type?: string; base?: string },
      status: number,
    ) {
      const headers: Record<string, string> = {}
      if (init.key !== undefined) headers.authorization = `Bearer ${init.key}`
      let body: string | undefined
      if (init.json !== undefined) body = JSON.stringify(init.json)
      if (init.raw !== undefined) body = init.raw
      if (body !== undefined) headers['content-type'] = init.type ?? 'application/json'
      const res = await fetch((init.base ?? url) + path, { method, headers, body })
      const text = await res.text()
      expect(res.status, `${method} ${path}: ${text}`).toBe(status)
      const spec = documented(pattern, method, status)
      expect(spec, `${method} ${pattern} ${status} is documented`).toBeDefined()
      expect(res.headers.get('content-type')).toMatch(new RegExp(`^${spec!.type.replace('+', '\\+')}`))
      expect(res.headers.get('cache-control')).toBe('no-store')
      expect(check(JSON.parse(text), spec!.schema), `${method} ${path} ${status}`).toEqual([])
      seen.add(`${method} ${pattern} ${status}`)
    }

    it('POST /keys', async () => {
      await expectDocumented(
        '/keys',
        'POST',
        '/keys',
        { key: admin, json: { name: 'n', projects: ['p'], rateLimit: { limit: 1, windowMs: 1000 }, expiresAt: '2030-01-01' } },
        201,
      )
      await expectDocumented('/keys', 'POST', '/keys', { key: admin, json: { name: '' } }, 400)
      await expectDocumented(
        '/keys',
        'POST',
        '/keys',
        { key: admin, json: { name: 'n', projects: ['p'], description: 'x'.repeat(20_000) } },
        413,
      )
      await expectDocumented('/keys', 'POST', '/keys', { key: admin, raw: 'name=n', type: 'text/plain' }, 415)
      await expectDocumented('/keys', 'POST', '/keys', { json: {} }, 401)
      await expectDocumented('/keys', 'POST', '/keys', { key: writer, json: {} }, 403)
      // The grant ceiling's refusal is a documented 403 problem too.
      await expectDocumented(
        '/keys',
        'POST',
        '/keys',
        { key: admin, json: { name: 'n', projects: ['p'], scopes: ['billing:refund'] } },
        403,
      )
      await expectDocumented('/keys', 'POST', '/keys', { key: admin, json: {}, base: downUrl }, 503)
    })

    it('GET /keys', async () => {
      await expectDocumented('/keys', 'GET', '/keys?limit=2', { key: admin }, 200)
      await expectDocumented('/keys', 'GET', '/keys?includeRevoked=true', { key: admin }, 200)
      await expectDocumented('/keys', 'GET', '/keys?limit=1000', { key: admin }, 400)
      await expectDocumented('/keys', 'GET', '/keys', {}, 401)
      await expectDocumented('/keys', 'GET', '/keys', { key: writer }, 403)
    })

    it('GET, PATCH and DELETE /keys/{id}', async () => {
      await expectDocumented('/keys/{id}', 'GET', `/keys/${target}`, { key: admin }, 200)
      await expectDocumented('/keys/{id}', 'GET', `/keys/${foreign}`, { key: admin }, 404)
      await expectDocumented('/keys/{id}', 'GET', `/keys/${target}`, { key: writer }, 403)
      await expectDocumented('/keys/{id}', 'PATCH', `/keys/${target}`, { key: admin, json: { name: 'Renamed', description: null } }, 200)
      await expectDocumented('/keys/{id}', 'PATCH', `/keys/${target}`, { key: admin, json: { scopes: [] } }, 400)
      await expectDocumented('/keys/{id}', 'PATCH', `/keys/${target}`, { key: admin, json: { projects: ['elsewhere'] } }, 403)
      await expectDocumented('/keys/{id}', 'PATCH', `/keys/${target}`, { key: admin, raw: '{}', type: 'application/xml' }, 415)
      await expectDocumented('/keys/{id}', 'PATCH', `/keys/${foreign}`, { key: admin, json: {} }, 404)
      await expectDocumented('/keys/{id}', 'DELETE', `/keys/${foreign}`, { key: admin }, 404)
      await expectDocumented('/keys/{id}', 'DELETE', `/keys/${target}`, {}, 401)
    })

    it('POST /keys/{id}/rotate, then DELETE', async () => {
      await expectDocumented('/keys/{id}/rotate', 'POST', `/keys/${target}/rotate`, { key: admin, json: { gracePeriodMs: -5 } }, 400)
      await expectDocumented('/keys/{id}/rotate', 'POST', `/keys/${foreign}/rotate`, { key: admin }, 404)
      await expectDocumented('/keys/{id}/rotate', 'POST', `/keys/${target}/rotate`, { key: admin, json: { gracePeriodMs: 60_000 } }, 200)
      await expectDocumented('/keys/{id}', 'DELETE', `/keys/${target}`, { key: admin }, 200)
    })

    it('GET /capabilities', async () => {
      await expectDocumented('/capabilities', 'GET', '/capabilities', { key: admin }, 200)
      await expectDocumented('/capabilities', 'GET', '/capabilities', {}, 401)
      await expectDocumented('/capabilities', 'GET', '/capabilities', { key: writer }, 403)
      await expectDocumented('/capabilities', 'GET', '/capabilities', { key: admin, base: downUrl }, 503)
    })

    it('GET /ui/keyward-keys.js: the documented type, no credential', async () => {
      const res = await fetch(`${url}/ui/keyward-keys.js`)
      expect(res.status).toBe(200)
      const ok = (paths['/ui/keyward-keys.js']!.get!.responses as Record<string, Json>)['200']!
      expect(Object.keys(ok.content as Json)).toEqual(['text/javascript'])
      expect(res.headers.get('content-type')).toMatch(/^text\/javascript/)
      expect(await res.text()).toContain('keyward-keys')
    })

    it('every route was exercised with its success status', () => {
      for (const route of MANAGEMENT_ROUTES) {
        const ok = route.action === 'keys.create' ? 201 : 200
        expect(seen.has(`${route.method} ${route.pattern} ${ok}`), `${route.method} ${route.pattern}`).toBe(true)
      }
    })
  })
})
