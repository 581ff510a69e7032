import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { describe, expect, it } from 'vitest'
import { createDashboardApp, createDashboardKeyward, type ProjectDirectory } from '../../examples/delegation-dashboard.js'
import { listen } from '../adapters/support.js'

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8')

describe('docs/delegation.md dashboard example', () => {
  it('is examples/delegation-dashboard.ts, with the adapter imported as a user writes it', () => {
    const doc = read('docs/delegation.md')
    const section = doc.slice(doc.indexOf('## Example: a dashboard for org admins'))
    const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1]
    expect(block).toBe(read('examples/delegation-dashboard.ts').replace("'../adapters/express.js'", "'keyward/express'"))
  })

  it('answers as the table in the docs says', async () => {
    const kw = createDashboardKeyward('a-dashboard-secret-of-at-least-32-bytes')
    const directory: ProjectDirectory = { projectsOf: async (org) => (org === 'org_1' ? ['site-a', 'site-b'] : []) }
    const server = await listen(createServer(createDashboardApp(kw, directory)))
    try {
      const { accessToken: admin } = await kw.tokens.issue({ subject: 'alice', org: 'org_1', scopes: ['admin'] })
      const { accessToken: member } = await kw.tokens.issue({ subject: 'bob', org: 'org_1', scopes: ['read'] })
      const call = async (token: string, method: string, path: string, json?: unknown) => {
        const res = await fetch(`${server.url}/dashboard${path}`, {
          method,
          headers: { authorization: `Bearer ${token}`, ...(json === undefined ? {} : { 'content-type': 'application/json' }) },
          ...(json === undefined ? {} : { body: JSON.stringify(json) }),
        })
        return {
          status: res.status,
          body: (await res.json()) as Record<string, unknown> & { errors?: Array<{ field: string; message: string }> },
        }
      }
      const created = await call(admin, 'POST', '/keys', { name: 'Website', projects: ['site-a'] })
      expect(created.status).toBe(201)
      const info = created.body.info as { id: string; scopes: string[]; metadata: Record<string, unknown> }
      expect(info).toMatchObject({ scopes: ['write'], metadata: { createdBy: 'alice' } })
      const scoped = await call(admin, 'POST', '/keys', { name: 'x', projects: ['site-a'], scopes: ['admin'] })
      expect(scoped.status).toBe(400)
      expect(scoped.body.errors?.map((e) => e.field)).toEqual(['scopes'])
      const elsewhere = await call(admin, 'POST', '/keys', { name: 'x', projects: ['elsewhere'] })
      expect(elsewhere.status).toBe(400)
      expect(elsewhere.body.errors?.map((e) => e.field)).toEqual(['projects[0]'])
      const renamed = await call(admin, 'PATCH', `/keys/${info.id}`, { name: 'New' })
      expect(renamed.status).toBe(400)
      expect(renamed.body.errors).toEqual([{ field: 'name', message: 'cannot be changed: a key keeps its name' }])
      expect((await call(admin, 'PATCH', `/keys/${info.id}`, { projects: ['site-a', 'site-b'] })).status).toBe(200)
      const refused = await call(member, 'GET', '/keys')
      expect(refused.status).toBe(403)
      expect(refused.body.code).toBe('insufficient_scope')
      expect((await kw.keys.list({ orgId: 'org_1' })).map((k) => k.name)).toEqual(['Website'])
    } finally {
      await server.close()
    }
  })
})
