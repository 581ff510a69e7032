/**
 * A Bklit-style tracking API on Koa, behind keyward. Run it with
 * `PORT=3000 npx tsx examples/koa-server.ts`; it mints a key and prints curl lines to try.
 *
 * Copy it as it is: it imports `keyward` and `keyward/koa` by the package's name (in this
 * repository tsconfig.json `paths` maps them to the source, so it runs without a build). In your
 * app, use your router (`@koa/router`) and body parser (`@koa/bodyparser`): this example has
 * neither, to need nothing but Koa.
 */
import type { AddressInfo } from 'node:net'
import { pathToFileURL } from 'node:url'
import Koa from 'koa'
import { createKeyward, type Keyward } from 'keyward'
import { authenticate, type KeywardState } from 'keyward/koa'

/** What the routes keep in `ctx.state`: keyward's `auth`, and the parsed JSON body. */
type State = KeywardState & { body?: { projectId?: unknown } }

const STATS = /^\/api\/projects\/([^/]+)\/stats$/

/**
 * The example's routes: `POST /api/track` (project in the JSON body, `write` scope) and
 * `GET /api/projects/:projectId/stats` (`read` scope).
 *
 * @example
 * ```ts
 * createApp(createKeyward({ prefix: 'bsk' })).listen(3000)
 * ```
 */
export function createApp(kw: Keyward): Koa<State> {
  const app = new Koa<State>()
  const trackAuth = authenticate(kw, { scopes: 'write', project: (ctx) => (ctx.state as State).body?.projectId })
  const statsAuth = authenticate(kw, { scopes: 'read', project: (ctx) => STATS.exec(ctx.path)?.[1] })

  app.use(async (ctx, next) => {
    if (ctx.method === 'POST' && ctx.path === '/api/track') {
      ctx.state.body = await readJson(ctx.req)
      return trackAuth(ctx, async () => {
        // authenticate() refused any body without a projectId this key may use (403).
        const projectId = ctx.state.body?.projectId
        ctx.body = { accepted: true, projectId, keyId: ctx.state.auth.keyId }
      })
    }
    const stats = ctx.method === 'GET' ? STATS.exec(ctx.path) : null
    if (stats !== null) {
      return statsAuth(ctx, async () => {
        ctx.body = { projectId: stats[1], org: ctx.state.auth.org, pageviews: 1284 }
      })
    }
    await next()
  })
  return app
}

/** Reads a small JSON body; anything else is treated as no body. */
async function readJson(stream: AsyncIterable<Buffer | string>): Promise<State['body']> {
  let text = ''
  for await (const chunk of stream) {
    text += chunk
    if (text.length > 100_000) return undefined
  }
  try {
    return JSON.parse(text) as State['body']
  } catch {
    return undefined
  }
}

/**
 * Starts the example on 127.0.0.1:`port` (0: any free port) with one freshly minted key.
 *
 * @example
 * ```ts
 * const { url, key, close } = await start(3000)
 * ```
 */
export async function start(port: number, kw: Keyward = createKeyward({ prefix: 'bsk' })) {
  const { key } = await kw.keys.create({ name: 'Example website', orgId: 'org_example', projects: ['prod-site'], scopes: ['write'] })
  const server = createApp(kw).listen(port, '127.0.0.1')
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return { kw, key, url, server, close: () => new Promise<void>((resolve) => server.close(() => resolve())) }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { url, key } = await start(Number(process.env.PORT ?? 3000))
  // Each curl prints the body, then the status on its own last line.
  const show = `-s -w '\\n%{http_code}\\n'`
  const track = `-X POST ${url}/api/track -H 'Content-Type: application/json' -d '{"projectId":"prod-site"}'`
  console.log(`Koa example listening on ${url}
Key (write, project prod-site), minted at start, in memory: ${key}

Paste these:
# expect 200: the key reads its project
curl ${show} ${url}/api/projects/prod-site/stats -H 'Authorization: Bearer ${key}'

# expect 200: the key tracks an event (project in the body)
curl ${show} ${track} -H 'Authorization: Bearer ${key}'

# expect 401: no key
curl ${show} ${track}

# expect 403: a project the key does not list
curl ${show} ${url}/api/projects/other-site/stats -H 'X-API-Key: ${key}'
`)
}
