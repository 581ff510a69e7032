/**
 * A ByteStack-style login server on Express: passwords (stubbed), TOTP enrolment, login with a
 * second factor, access and refresh tokens, a protected route and one that needs 2FA, logout.
 * Run it with `PORT=3000 npx tsx examples/login-server/server.ts`; it prints curl lines to try, and
 * `walkthrough.ts` drives the whole flow.
 *
 * Copy it as it is: it imports `keyward` and its adapter by the package's name. In this repository
 * tsconfig.json `paths` maps those names to the source, so it runs without a build.
 */
import type { AddressInfo } from 'node:net'
import { timingSafeEqual } from 'node:crypto'
import { pathToFileURL } from 'node:url'
import express, { type Express, type Response } from 'express'
import { generateKeyPair } from 'jose'
import { createKeyward, isKeywardError, MfaRequiredError, totp, type Keyward, type TokenPair } from 'keyward'
import { authenticate, requireMfa, type AuthenticatedRequest } from 'keyward/express'

/** The app's own user table. keyward never sees a password: the app checks it, then asks for tokens. */
interface User {
  id: string
  org: string
  password: string
  scopes: string[]
  totpSecret?: string
  pendingTotpSecret?: string
}

const USERS = new Map<string, User>([
  ['ada', { id: 'user_ada', org: 'org_bytestack', password: 'correct horse battery staple', scopes: ['write'] }],
  ['bob', { id: 'user_bob', org: 'org_bytestack', password: 'hunter2 hunter2', scopes: ['write'] }],
])

const USERS_BY_ID = new Map([...USERS.values()].map((u) => [u.id, u]))

function passwordMatches(user: User | undefined, password: unknown): user is User {
  // Stub of the app's password check (use a password hash such as argon2 in a real app).
  const given = new TextEncoder().encode(typeof password === 'string' ? password : '')
  const stored = new TextEncoder().encode(user?.password ?? '\u0000')
  return user !== undefined && given.length === stored.length && timingSafeEqual(given, stored)
}

function tokens(res: Response, pair: TokenPair): void {
  // OAuth-style field names (RFC 6749 §5.1); no-store so no cache keeps them.
  res
    .set('cache-control', 'no-store')
    .json({ access_token: pair.accessToken, refresh_token: pair.refreshToken, token_type: pair.tokenType, expires_in: pair.expiresIn })
}

function problem(res: Response, error: unknown): void {
  if (!isKeywardError(error)) throw error
  const body: Record<string, unknown> = { ...error.toJSON() }
  // The pending-2FA token goes back to the client that must send it with the code.
  if (error instanceof MfaRequiredError) body.pendingToken = error.pendingToken
  res.status(error.status).set(error.headers).type('application/problem+json').send(JSON.stringify(body))
}

const invalidLogin = { type: 'about:blank', title: 'Unauthorized', status: 401, detail: 'Wrong username or password' }

/**
 * The example's routes: `/auth/2fa/enroll` and `/auth/2fa/confirm` (logged in), `/auth/login`, `/auth/refresh`, `/auth/logout`,
 * `/.well-known/jwks.json`, `GET /api/me` (`read`) and `POST /api/payouts` (`write` + 2FA).
 *
 * @example
 * ```ts
 * createApp(kw).listen(3000)
 * ```
 */
export function createApp(kw: Keyward): Express {
  const app = express()
  app.use(express.json({ limit: '16kb' }))

  // Enrolment needs a logged-in user, and a 2FA login when 2FA is already on: a password alone
  // must never be enough to swap in another authenticator.
  const enrolled = (req: express.Request) => USERS_BY_ID.get((req as AuthenticatedRequest).auth.subject ?? '')
  app.post(
    '/auth/2fa/enroll',
    authenticate(kw),
    (req, res, next) => {
      const user = enrolled(req)
      if (user === undefined) return void res.status(401).json(invalidLogin)
      if (user.totpSecret !== undefined && (req as AuthenticatedRequest).auth.mfa !== true) return next()
      // Pending until a code from it is confirmed; shown once, as a QR code in a real app.
      user.pendingTotpSecret = totp.generateSecret()
      res.set('cache-control', 'no-store').json({
        secret: user.pendingTotpSecret,
        otpauthUri: totp.uri({ secret: user.pendingTotpSecret, account: user.id, issuer: 'ByteStack' }),
      })
    },
    requireMfa(),
  )

  app.post('/auth/2fa/confirm', authenticate(kw), (req, res) => {
    const user = enrolled(req)
    const secret = user?.pendingTotpSecret
    if (user === undefined || secret === undefined || totp.match(secret, req.body?.code, Date.now()) === null) {
      return void res
        .status(400)
        .json({ type: 'about:blank', title: 'Bad Request', status: 400, detail: 'No enrolment pending, or the code does not match it' })
    }
    user.totpSecret = secret
    delete user.pendingTotpSecret
    res.status(204).end()
  })

  app.post('/auth/login', async (req, res, next) => {
    try {
      const { username, password, twoFactorCode, pendingToken } = req.body ?? {}
      let user: User | undefined
      if (typeof pendingToken === 'string') {
        // Second step: the password was checked when the pending token was issued.
        const pending = await kw.tokens.pendingLogin(pendingToken)
        user = [...USERS.values()].find((u) => u.id === pending.subject)
      } else {
        user = USERS.get(username)
        if (!passwordMatches(user, password)) return void res.status(401).json(invalidLogin)
      }
      if (user === undefined) return void res.status(401).json(invalidLogin)
      const twoFactor = user.totpSecret === undefined ? undefined : { secret: user.totpSecret, code: twoFactorCode }
      const who = typeof pendingToken === 'string' ? { pendingToken } : { subject: user.id, org: user.org, scopes: user.scopes }
      tokens(res, await kw.tokens.login({ ...who, twoFactor, ip: req.socket.remoteAddress }))
    } catch (error) {
      if (isKeywardError(error)) return problem(res, error)
      next(error)
    }
  })

  app.post('/auth/refresh', async (req, res, next) => {
    try {
      tokens(res, await kw.tokens.refresh(req.body?.refreshToken))
    } catch (error) {
      if (isKeywardError(error)) return problem(res, error)
      next(error)
    }
  })

  app.post('/auth/logout', async (req, res, next) => {
    try {
      await kw.tokens.revoke(req.body?.refreshToken)
      res.status(204).end()
    } catch (error) {
      if (isKeywardError(error)) return problem(res, error)
      next(error)
    }
  })

  app.get('/.well-known/jwks.json', async (_req, res) => {
    res.json(await kw.tokens.jwks())
  })

  app.get('/api/me', authenticate(kw, { scopes: 'read' }), (req, res) => {
    const { subject, org, scopes, mfa } = (req as AuthenticatedRequest).auth
    res.json({ subject, org, scopes, mfa })
  })

  app.post('/api/payouts', authenticate(kw, { scopes: 'write' }), requireMfa(), (req, res) => {
    res.json({ scheduled: true, by: (req as AuthenticatedRequest).auth.subject })
  })

  return app
}

/**
 * Starts the example on 127.0.0.1:`port` (0: any free port) with a fresh Ed25519 signing key.
 *
 * @example
 * ```ts
 * const { url, close } = await start(3000)
 * ```
 */
export async function start(port: number) {
  const { privateKey } = await generateKeyPair('EdDSA', { extractable: true })
  const kw = createKeyward({
    prefix: 'bsk',
    jwt: { issuer: 'https://api.bytestack.example', audience: 'bytestack-api', signingKey: { alg: 'EdDSA', kid: 'example-1', privateKey } },
  })
  const server = createApp(kw).listen(port, '127.0.0.1')
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return { kw, url, server, close: () => new Promise<void>((resolve) => server.close(() => resolve())) }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { url, kw } = await start(Number(process.env.PORT ?? 3000))
  // bob's first access token, minted here as /auth/login would, so the protected curls work at once.
  const bob = USERS.get('bob')!
  const { accessToken } = await kw.tokens.issue({ subject: bob.id, org: bob.org, scopes: bob.scopes })
  // Each curl prints the body, then the status on its own last line.
  const show = `-s -w '\\n%{http_code}\\n'`
  const login = `-X POST ${url}/auth/login -H 'Content-Type: application/json'`
  console.log(`Login example listening on ${url}
Users: ada / "correct horse battery staple" (write), bob / "hunter2 hunter2" (write, no 2FA). walkthrough.ts runs the 2FA flow.
bob's access token (minted at start, 15 minutes): ${accessToken}

Paste these:
# expect 200: bob logs in with his password (access and refresh tokens)
curl ${show} ${login} -d '{"username":"bob","password":"hunter2 hunter2"}'

# expect 401: a wrong password
curl ${show} ${login} -d '{"username":"bob","password":"guess"}'

# expect 200: bob's access token reads /api/me
curl ${show} ${url}/api/me -H 'Authorization: Bearer ${accessToken}'

# expect 401: payouts need a login with a second factor (mfa_required)
curl ${show} -X POST ${url}/api/payouts -H 'Authorization: Bearer ${accessToken}'

# expect 401: no token
curl ${show} ${url}/api/me
`)
}
