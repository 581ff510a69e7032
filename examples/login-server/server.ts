/**
 * A ByteStack-style login server on Express: passwords (stubbed), TOTP enrolment, login with a
 * second factor, access and refresh tokens, a protected route and one that needs 2FA, logout.
 * Run it with `PORT=3000 npx tsx examples/login-server/server.ts`; `walkthrough.ts` drives it.
 *
 * In your own app, import the adapter as `keyward/express`: this file imports it from the source
 * so that it runs in this repository without a build.
 */
import type { AddressInfo } from 'node:net'
import { timingSafeEqual } from 'node:crypto'
import { pathToFileURL } from 'node:url'
import express, { type Express, type Response } from 'express'
import { generateKeyPair } from 'jose'
import { createKeyward, isKeywardError, MfaRequiredError, totp, type Keyward, type TokenPair } from 'keyward'
import { authenticate, requireMfa, type AuthenticatedRequest } from '../../adapters/express.js'

/** The app's own user table. keyward never sees a password: the app checks it, then asks for tokens. */
interface User {
  id: string
  org: string
  password: string
  scopes: string[]
  totpSecret?: string
}

const USERS = new Map<string, User>([
  ['ada', { id: 'user_ada', org: 'org_bytestack', password: 'correct horse battery staple', scopes: ['write'] }],
  ['bob', { id: 'user_bob', org: 'org_bytestack', password: 'hunter2 hunter2', scopes: ['write'] }],
])

function passwordMatches(user: User | undefined, password: unknown): user is User {
  // Stub of the app's password check (use a password hash such as argon2 in a real app).
  const given = new TextEncoder().encode(typeof password === 'string' ? password : '')
  const stored = new TextEncoder().encode(user?.password ?? '\u0000')
  return user !== undefined && given.length === stored.length && timingSafeEqual(given, stored)
}

function tokens(res: Response, pair: TokenPair): void {
  // OAuth-style field names (RFC 6749 §5.1); no-store so no cache keeps them.
  res.set('cache-control', 'no-store').json({ access_token: pair.accessToken, refresh_token: pair.refreshToken, token_type: pair.tokenType, expires_in: pair.expiresIn })
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
 * The example's routes: `/auth/2fa/enroll`, `/auth/login`, `/auth/refresh`, `/auth/logout`,
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

  app.post('/auth/2fa/enroll', (req, res) => {
    const user = USERS.get(req.body?.username)
    if (!passwordMatches(user, req.body?.password)) return void res.status(401).json(invalidLogin)
    user.totpSecret = totp.generateSecret()
    // Shown once, as a QR code in a real app; the secret stays on the server side.
    res.set('cache-control', 'no-store').json({ secret: user.totpSecret, otpauthUri: totp.uri({ secret: user.totpSecret, account: req.body.username, issuer: 'ByteStack' }) })
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
  const { url } = await start(Number(process.env.PORT ?? 3000))
  console.log(`Login example listening on ${url}`)
  console.log('Users: ada / "correct horse battery staple" (write), bob / "hunter2 hunter2" (write, no 2FA). See walkthrough.ts.')
}
