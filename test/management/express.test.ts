import { createServer } from 'node:http'
import express from 'express'
import { describe, expect, it } from 'vitest'
import { managementRouter } from '../../adapters/express.js'
import { listen } from '../adapters/support.js'
import { setup } from '../support/setup.js'
import { managementContract } from './contract.js'
import { startExpress } from './express-app.js'

managementContract('Express', startExpress)

describe('Express managementRouter specifics', () => {
  it('uses a body express.json() already parsed, still bounded', async () => {
    const { kw, mint } = setup()
    const admin = (await mint({ scopes: ['admin'], projects: ['p'] })).key
    const app = express()
    app.use(express.json({ limit: '1mb' }))
    app.use('/admin', managementRouter(kw))
    const server = await listen(createServer(app))
    try {
      const post = (body: unknown) =>
        fetch(`${server.url}/admin/keys`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
      const ok = await post({ name: 'parsed', projects: ['p'] })
      expect(ok.status).toBe(201)
      const big = await post({ name: 'big', projects: ['p'], metadata: { pad: 'x'.repeat(20_000) } })
      expect(big.status).toBe(413)
    } finally {
      await server.close()
    }
  })

  it('refuses unknown options at start-up', () => {
    const { kw } = setup()
    expect(() => managementRouter(kw, { scopes: 'admin' } as never)).toThrow(/unknown management option "scopes"/)
  })
})
