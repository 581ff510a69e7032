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
        fetch(`${server.url}/admin/keys`, {
          method: 'POST',
          headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        })
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

describe('Express managementRouter: was the body already read?', () => {
  // Decided from public facts (the stream ended, the headers declare a body), never from
  // body-parser's private `_body` flag.
  async function serve(before: express.RequestHandler[]) {
    const { kw, mint } = setup()
    const admin = (await mint({ scopes: ['admin'], projects: ['p'] })).key
    const app = express()
    for (const handler of before) app.use(handler)
    app.use('/admin', managementRouter(kw))
    const server = await listen(createServer(app))
    const post = (body: string, contentType = 'application/json') =>
      fetch(`${server.url}/admin/keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}`, 'content-type': contentType },
        body,
      })
    return { server, post }
  }

  const errorsOf = async (response: Response) => ((await response.json()) as { errors?: Array<{ field: string; message: string }> }).errors

  it.each([
    ['without a body parser', []],
    ['after express.json()', [express.json()]],
  ])('creates a key %s', async (_name, before) => {
    const { server, post } = await serve(before)
    try {
      expect((await post(JSON.stringify({ name: 'k', projects: ['p'] }))).status).toBe(201)
    } finally {
      await server.close()
    }
  })

  it.each([
    ['without a body parser', []],
    ['after express.json()', [express.json()]],
  ])('answers an empty body as a missing body %s', async (_name, before) => {
    const { server, post } = await serve(before)
    try {
      const response = await post('')
      expect(response.status).toBe(400)
      expect(await errorsOf(response)).toEqual([{ field: '(body)', message: 'is required: a JSON object' }])
    } finally {
      await server.close()
    }
  })

  it('reads the stream itself when express.json() skipped the content type (415, not a silent empty body)', async () => {
    const { server, post } = await serve([express.json()])
    try {
      expect((await post('name=k', 'text/plain')).status).toBe(415)
    } finally {
      await server.close()
    }
  })

  it('reads a body a middleware marked `_body` without consuming it', async () => {
    const marker: express.RequestHandler = (req, _res, next) => {
      ;(req as { _body?: boolean })._body = true
      next()
    }
    const { server, post } = await serve([marker])
    try {
      expect((await post(JSON.stringify({ name: 'k', projects: ['p'] }))).status).toBe(201)
    } finally {
      await server.close()
    }
  })
})
