/**
 * Drives the login example end to end over HTTP and checks every answer:
 * login -> enrol 2FA -> confirm -> login -> 401 mfa_required -> login with the code -> tokens -> protected route ->
 * refresh -> logout. Run with `npx tsx examples/login-server/walkthrough.ts` (starts its own
 * server on a free port) or pass the URL of a running one. Exits non-zero on the first surprise.
 */
import { totp } from 'keyward'
import { start } from './server.js'

const own = process.argv[2] === undefined ? await start(0) : undefined
const base = process.argv[2] ?? own!.url
let failures = 0

async function call(method: string, path: string, body?: unknown, token?: string) {
  const headers: Record<string, string> = {}
  if (body !== undefined) headers['content-type'] = 'application/json'
  if (token !== undefined) headers.authorization = `Bearer ${token}`
  const res = await fetch(base + path, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) })
  const text = await res.text()
  return { status: res.status, body: (text === '' ? {} : JSON.parse(text)) as Record<string, unknown> }
}

function check(
  step: string,
  got: { status: number; body: Record<string, unknown> },
  status: number,
  extra?: (body: Record<string, unknown>) => boolean,
): Record<string, unknown> {
  const fine = got.status === status && (extra === undefined || extra(got.body))
  // Tokens are never printed: only the step, the status and the problem's code.
  console.log(`${fine ? 'ok  ' : 'FAIL'} ${step}: ${got.status}${typeof got.body.code === 'string' ? ` ${got.body.code}` : ''}`)
  if (!fine) failures++
  return got.body
}

const ada = { username: 'ada', password: 'correct horse battery staple' }
const before = check('login before 2FA is on', await call('POST', '/auth/login', ada), 200)
check('enrol TOTP without a session', await call('POST', '/auth/2fa/enroll', {}), 401, (b) => b.code === 'missing_credentials')
const { secret } = check('enrol TOTP (logged in)', await call('POST', '/auth/2fa/enroll', {}, before.access_token as string), 200, (b) =>
  String(b.otpauthUri).startsWith('otpauth://totp/'),
) as { secret: string }
check('confirm with a wrong code', await call('POST', '/auth/2fa/confirm', { code: '000000' }, before.access_token as string), 400)
check(
  'confirm with a code from the app',
  await call('POST', '/auth/2fa/confirm', { code: totp.code(secret, Date.now()) }, before.access_token as string),
  204,
)
check(
  're-enrol with a password-only session',
  await call('POST', '/auth/2fa/enroll', {}, before.access_token as string),
  401,
  (b) => b.code === 'mfa_required',
)
await call('POST', '/auth/logout', { refreshToken: before.refresh_token })

const first = check(
  'login without the code',
  await call('POST', '/auth/login', ada),
  401,
  (b) => b.code === 'mfa_required' && typeof b.pendingToken === 'string',
)
check(
  'login with a wrong code',
  await call('POST', '/auth/login', { ...ada, twoFactorCode: '000000' }),
  401,
  (b) => b.code === 'mfa_required',
)
const pair = check(
  'login with the code (pending token)',
  await call('POST', '/auth/login', { pendingToken: first.pendingToken, twoFactorCode: totp.code(secret, Date.now()) }),
  200,
  (b) => b.token_type === 'Bearer' && b.expires_in === 900,
)
const access = pair.access_token as string
const refresh = pair.refresh_token as string

check(
  'protected route with the access token',
  await call('GET', '/api/me', undefined, access),
  200,
  (b) => b.subject === 'user_ada' && b.mfa === true,
)
check('2FA-only route with a 2FA token', await call('POST', '/api/payouts', {}, access), 200)
check('protected route without a token', await call('GET', '/api/me'), 401, (b) => b.code === 'missing_credentials')

const bob = check('login without 2FA (bob)', await call('POST', '/auth/login', { username: 'bob', password: 'hunter2 hunter2' }), 200)
check(
  '2FA-only route with a password-only token',
  await call('POST', '/api/payouts', {}, bob.access_token as string),
  401,
  (b) => b.code === 'mfa_required',
)

const next = check('refresh', await call('POST', '/auth/refresh', { refreshToken: refresh }), 200, (b) => b.refresh_token !== refresh)
check('new access token works', await call('GET', '/api/me', undefined, next.access_token as string), 200)
check('logout', await call('POST', '/auth/logout', { refreshToken: next.refresh_token }), 204)
check(
  'refresh after logout',
  await call('POST', '/auth/refresh', { refreshToken: next.refresh_token }),
  401,
  (b) => b.code === 'invalid_token',
)
check(
  'the retired refresh token again (reuse)',
  await call('POST', '/auth/refresh', { refreshToken: refresh }),
  401,
  (b) => b.code === 'invalid_token',
)
check(
  'published keys carry no private part',
  await call('GET', '/.well-known/jwks.json'),
  200,
  (b) => Array.isArray(b.keys) && b.keys.length === 1 && !('d' in (b.keys[0] as object)),
)

await own?.close()
console.log(failures === 0 ? 'login walkthrough: all good' : `login walkthrough: ${failures} step(s) failed`)
process.exit(failures === 0 ? 0 : 1)
