/**
 * A "Settings → API keys" page in a few lines: sign in, and the `<keyward-keys>` component lists,
 * creates, rotates and revokes your organization's keys through keyward's management routes.
 * Start it with `npm run example:ui` (or `PORT=3000 npx tsx examples/ui/server.ts`) and open the
 * URL it prints; sign in as ada / "correct horse battery staple".
 *
 * The session is a keyward access token in an HttpOnly, SameSite=Strict cookie. A small
 * middleware hands it to the management routes as the Authorization header, so the routes also
 * require the anti-CSRF header (`csrfHeader`), which the component always sends and a cross-site
 * page cannot. The page runs under a strict Content-Security-Policy (no inline script or style).
 *
 * Copy it as it is: it imports `keyward` and its adapter by the package's name. In this repository
 * tsconfig.json `paths` maps those names to the source, so it runs without a build.
 */
import type { AddressInfo } from 'node:net'
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { pathToFileURL } from 'node:url'
import express, { type Express, type Request } from 'express'
import { createKeyward, KeywardError, type Keyward } from 'keyward'
import { authenticate, managementRouter, type AuthenticatedRequest } from 'keyward/express'

/** The app's own users and organizations (your database in a real app). */
const USERS = new Map([['ada', { id: 'user_ada', org: 'org_acme', password: 'correct horse battery staple', scopes: ['admin'] }]])
const PROJECTS: Record<string, string[]> = { org_acme: ['website', 'mobile-app'] }
const COOKIE = 'kw_session'
const CSRF = 'x-keyward-csrf'

function sessionOf(req: Request): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=')
    if (name === COOKIE) return value.join('=')
  }
  return undefined
}

function passwordMatches(given: unknown, stored: string): boolean {
  // Stub of the app's password check (use a password hash such as argon2 in a real app).
  const a = new TextEncoder().encode(typeof given === 'string' ? given : '')
  const b = new TextEncoder().encode(stored)
  return a.length === b.length && timingSafeEqual(a, b)
}

const page = (title: string, body: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title><link rel="stylesheet" href="/app.css"></head><body>${body}</body></html>`

const LOGIN = page(
  'Sign in',
  `<main><h1>Acme dashboard</h1><form method="post" action="/login">
  <p><label>User <input name="username" autocomplete="username" required></label></p>
  <p><label>Password <input name="password" type="password" autocomplete="current-password" required></label></p>
  <p><button>Sign in</button></p></form></main>`,
)

const SETTINGS = page(
  'Settings · API keys',
  `<header><strong>Acme dashboard</strong><form method="post" action="/logout"><button>Sign out</button></form></header>
<main><h1>Settings</h1>
  <keyward-keys base-url="/admin" theme="auto" page-size="10"></keyward-keys>
</main>
<script type="module" src="/admin/ui/keyward-keys.js"></script>`,
)

const CSS = `body { font-family: system-ui, sans-serif; margin: 0; background: #f3f4f6; color: #111827 }
header { display: flex; justify-content: space-between; align-items: center; padding: 0.75rem 1.5rem; background: #fff;
  border-bottom: 1px solid #e5e7eb }
main { max-width: 80rem; margin: 1.5rem auto; padding: 0 1.5rem }
keyward-keys { padding: 1.25rem; border-radius: 8px; border: 1px solid #e5e7eb }
@media (prefers-color-scheme: dark) { body { background: #030712; color: #f3f4f6 } header { background: #111827; border-color: #374151 }
  keyward-keys { border-color: #374151 } }`

/**
 * The example's routes: `GET /` (sign-in form, or the keys page), `POST /login`, `POST /logout`,
 * the management routes and the component under `/admin`, and `GET /api/hello` for the keys it makes.
 *
 * @example
 * ```ts
 * createApp(kw).listen(3000)
 * ```
 */
export function createApp(kw: Keyward): Express {
  const app = express()
  app.use((_req, res, next) => {
    res.set({ 'content-security-policy': "default-src 'self'; frame-ancestors 'none'", 'referrer-policy': 'no-referrer' })
    next()
  })
  app.get('/app.css', (_req, res) => void res.type('text/css').send(CSS))

  app.get('/', async (req, res) => {
    const session = sessionOf(req)
    const signedIn = session !== undefined && (await kw.verify({ headers: { authorization: `Bearer ${session}` } })).ok
    res
      .set('cache-control', 'no-store')
      .type('html')
      .send(signedIn ? SETTINGS : LOGIN)
  })

  app.post('/login', express.urlencoded({ extended: false, limit: '2kb' }), async (req, res) => {
    const user = USERS.get(String(req.body?.username ?? ''))
    if (user === undefined || !passwordMatches(req.body?.password, user.password)) return void res.status(401).type('html').send(LOGIN)
    const { accessToken, expiresIn } = await kw.tokens.issue({ subject: user.id, org: user.org, scopes: user.scopes })
    res.cookie(COOKIE, accessToken, { httpOnly: true, sameSite: 'strict', path: '/', maxAge: expiresIn * 1000 })
    res.redirect(303, '/')
  })

  app.post('/logout', (_req, res) => {
    res.clearCookie(COOKIE, { httpOnly: true, sameSite: 'strict', path: '/' })
    res.redirect(303, '/')
  })

  // The session cookie, as the credential the management routes read; they then insist on the
  // anti-CSRF header, which a form or an image on another site cannot send.
  app.use('/admin', (req, _res, next) => {
    const session = sessionOf(req)
    if (session !== undefined && req.headers.authorization === undefined) req.headers.authorization = `Bearer ${session}`
    next()
  })
  app.use(
    '/admin',
    managementRouter(kw, {
      csrfHeader: CSRF,
      // A signed-in admin grants the projects of its organization (the token holds no list).
      callerProjects: (auth) => PROJECTS[auth.org] ?? [],
      // What this product lets its users set: no IP rules from the dashboard.
      capabilities: () => ({ fields: ['name', 'description', 'projects', 'scopes', 'allowedOrigins', 'rateLimit', 'expiresAt'] }),
      policy: ({ input }) => {
        if ('allowedIps' in input)
          throw new KeywardError('validation_failed', { errors: [{ field: 'allowedIps', message: 'cannot be set from the dashboard' }] })
      },
    }),
  )

  app.get('/api/hello', authenticate(kw, { scopes: 'read' }), (req, res) => {
    const { auth } = req as AuthenticatedRequest
    res.json({ hello: auth.org, key: auth.keyId })
  })
  return app
}

/** Starts the example on `port` (0: any free port). */
export async function start(port: number) {
  const kw = createKeyward({
    prefix: 'bsk',
    jwt: {
      issuer: 'https://acme.example',
      audience: 'acme-dashboard',
      signingKey: { alg: 'HS256', secret: randomBytes(32).toString('hex') },
    },
  })
  const server = createApp(kw).listen(port, '127.0.0.1')
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return { kw, url, close: () => new Promise<void>((resolve) => server.close(() => resolve())) }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { url, kw } = await start(Number(process.env.PORT ?? 3000))
  const ada = USERS.get('ada')!
  // ada's session, minted here as /login would, so the curls below work at once.
  const { accessToken } = await kw.tokens.issue({ subject: ada.id, org: ada.org, scopes: ada.scopes })
  const show = `-s -o /dev/null -w '%{http_code}\\n'`
  const cookie = `-H 'Cookie: ${COOKIE}=${accessToken}'`
  console.log(`Key management UI example listening on ${url}
Open ${url}/ and sign in as ada / "correct horse battery staple".

Paste these:
# expect 200: the sign-in page
curl ${show} ${url}/

# expect 303: signing in sets the session cookie
curl ${show} -X POST ${url}/login -d 'username=ada&password=correct+horse+battery+staple'

# expect 200: the component's script, public
curl ${show} ${url}/admin/ui/keyward-keys.js

# expect 403: the routes with the session cookie but without the anti-CSRF header
curl ${show} ${cookie} ${url}/admin/keys

# expect 200: with it, as the component sends it
curl ${show} ${cookie} -H '${CSRF}: 1' ${url}/admin/capabilities
`)
}
