/**
 * A real browser: Debian's Chromium, driven by playwright-core, loads a page from one origin
 * and calls an API on another port with `fetch` and an origin-restricted key. The custom header
 * forces a CORS preflight, which keyward lets through (the app answers it); the call itself is
 * allowed from the listed origin, and refused with 403 `Domain not allowed for this token`
 * from a page on an origin that is not listed, the refusal read by the page itself.
 *
 * Origins: `http://good.localhost:<port>` (listed) and `http://evil.localhost:<port>`, both
 * mapped to 127.0.0.1 by Chromium's host resolver rules (the key's rule is a hostname: ports
 * are ignored, so the two pages must differ by name). In CI (CI=true) a missing Chromium fails
 * the run; locally it is skipped loudly.
 */
import { existsSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import express from 'express'
import { chromium, type Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createKeyward } from 'keyward'
import { authenticate, type AuthenticatedRequest } from '../../adapters/express.js'
import { listen } from '../adapters/support.js'
import { CI } from '../support/servers.js'

const CHROMIUM = '/usr/bin/chromium'
const present = existsSync(CHROMIUM)
if (!present && !CI) {
  console.warn(
    `\n${'!'.repeat(78)}\n!! ${CHROMIUM} is missing: the browser test is SKIPPED.\n` +
      `!! Install it (apt-get install -y chromium). In CI (CI=true) this is a failure.\n${'!'.repeat(78)}\n`,
  )
}

describe('Chromium installed for the browser test', () => {
  it.runIf(CI)(`${CHROMIUM} exists (required in CI)`, () => {
    expect(present, `${CHROMIUM} must exist in CI: .ci/run installs it with apt`).toBe(true)
  })
})

/** The API: the app's own CORS handling, then keyward on everything under /api. */
function apiServer(kw: ReturnType<typeof createKeyward>, seen: string[]): Server {
  const app = express()
  app.use((req, res, next) => {
    seen.push(`${req.method} ${req.path} ${req.headers.origin ?? '-'}`)
    // The app's CORS policy admits any page; which page a key may be used from is keyward's call.
    if (req.headers.origin !== undefined) {
      res.set({
        'access-control-allow-origin': req.headers.origin,
        'access-control-allow-headers': 'x-api-key',
        'access-control-allow-methods': 'GET',
        vary: 'Origin',
      })
    }
    next()
  })
  app.use('/api', authenticate(kw, { scopes: 'read' }))
  // Reached only because authenticate() let the preflight (which carries no key) through.
  app.options('/api/stats', (_req, res) => {
    seen.push('preflight answered by the app')
    res.status(204).end()
  })
  app.get('/api/stats', (req, res) => void res.json({ org: (req as AuthenticatedRequest).auth.org, pageviews: 1284 }))
  return createServer(app)
}

function pageServer(): Server {
  return createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
    res.end('<!doctype html><title>keyward browser test</title><p>page</p>')
  })
}

describe.skipIf(!present)('Chromium: fetch with an origin-restricted key, CORS preflight included', () => {
  const seen: string[] = []
  const closers: Array<() => Promise<void>> = []
  let browser: Browser
  let api: string
  let good: string
  let evil: string
  let key: string

  beforeAll(async () => {
    const kw = createKeyward({ prefix: 'bsk', usageFlushMs: false })
    key = (await kw.keys.create({ name: 'Browser SDK', orgId: 'org_web', projects: ['site'], allowedOrigins: ['good.localhost'] })).key
    const apiListening = await listen(apiServer(kw, seen))
    const goodPage = await listen(pageServer())
    const evilPage = await listen(pageServer())
    closers.push(apiListening.close, goodPage.close, evilPage.close)
    api = apiListening.url
    good = goodPage.url.replace('127.0.0.1', 'good.localhost')
    evil = evilPage.url.replace('127.0.0.1', 'evil.localhost')
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--host-resolver-rules=MAP *.localhost 127.0.0.1',
      ],
    })
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await Promise.all(closers.map((close) => close()))
  })

  /** Opens `pageUrl` in a fresh context and runs the fetch from inside the page. */
  async function callFrom(pageUrl: string) {
    const context = await browser.newContext()
    try {
      const page = await context.newPage()
      await page.goto(pageUrl)
      return await page.evaluate(
        async ([url, apiKey]) => {
          const response = await fetch(`${url}/api/stats`, { headers: { 'x-api-key': apiKey! } })
          return {
            origin: location.origin,
            status: response.status,
            type: response.headers.get('content-type'),
            body: (await response.json()) as Record<string, unknown>,
          }
        },
        [api, key],
      )
    } finally {
      await context.close()
    }
  }

  it('is allowed from the listed origin, after a preflight keyward let through', async () => {
    seen.length = 0
    const result = await callFrom(good)
    expect(result.origin).toBe(good)
    expect(result.status).toBe(200)
    expect(result.body).toEqual({ org: 'org_web', pageviews: 1284 })
    expect(seen).toEqual([`OPTIONS /api/stats ${good}`, 'preflight answered by the app', `GET /api/stats ${good}`])
  }, 60_000)

  it('is refused with 403 "Domain not allowed for this token" from an origin not on the list, read by the page', async () => {
    seen.length = 0
    const result = await callFrom(evil)
    expect(result.origin).toBe(evil)
    expect(result.status).toBe(403)
    expect(result.type).toMatch(/^application\/problem\+json/)
    expect(result.body).toMatchObject({ status: 403, code: 'origin_forbidden', detail: 'Domain not allowed for this token' })
    expect(JSON.stringify(result.body)).not.toContain(key)
    expect(seen).toEqual([`OPTIONS /api/stats ${evil}`, 'preflight answered by the app', `GET /api/stats ${evil}`])
  }, 60_000)
})
