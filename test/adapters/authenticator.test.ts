// createAuthenticator (adapters/shared.ts): the promise form, now(request) and into(request, next, fail)
// give the same decisions, and into() calls exactly one of its callbacks, once.
import { describe, expect, it } from 'vitest'
import { createAuthenticator, type Decision, type RequestReader } from '../../adapters/shared.js'
import { setup } from './support.js'

interface FakeRequest {
  method: string
  headers: Record<string, string>
}
const read: RequestReader<FakeRequest> = {
  method: (r) => r.method,
  headers: (r) => r.headers,
  url: () => '/',
  socketAddress: () => '127.0.0.1',
  forwardedFor: () => undefined,
}

/** Runs into() and records every callback it made, once the decision had time to settle. */
async function viaInto(decide: ReturnType<typeof createAuthenticator<FakeRequest>>, request: FakeRequest) {
  const calls: Array<['next', Decision] | ['fail', unknown]> = []
  let settle!: () => void
  const settled = new Promise<void>((resolve) => (settle = resolve))
  decide.into(
    request,
    (decision) => {
      calls.push(['next', decision])
      settle()
    },
    (error) => {
      calls.push(['fail', error])
      settle()
    },
  )
  await settled
  // A second call, if there were one, would come within a few more turns.
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve))
  return calls
}

describe('createAuthenticator', () => {
  it('into() hands on the decision the promise form gives: a pass, a refusal, a preflight, an optional miss', async () => {
    const { kw, mint } = setup()
    const key = await mint()
    const decide = createAuthenticator(kw, { scopes: 'write' }, read)
    const optional = createAuthenticator(kw, { optional: true }, read)
    const cases: Array<[typeof decide, FakeRequest]> = [
      [decide, { method: 'GET', headers: { 'x-api-key': key } }],
      [decide, { method: 'GET', headers: {} }],
      [decide, { method: 'OPTIONS', headers: { origin: 'https://a.example', 'access-control-request-method': 'POST' } }],
      [optional, { method: 'GET', headers: {} }],
    ]
    const seen: unknown[] = []
    for (const [authenticator, request] of cases) {
      const promised = await authenticator(request)
      const calls = await viaInto(authenticator, request)
      expect(calls).toHaveLength(1)
      expect(calls[0]![0]).toBe('next')
      const decision = calls[0]![1] as Decision
      // The rate-limit count moved on between the two calls; the rest is the same.
      expect(decision.ok).toBe(promised.ok)
      if (!decision.ok && !promised.ok) expect(decision.response).toEqual(promised.response)
      if (decision.ok && promised.ok) expect(decision.auth?.keyId).toBe(promised.auth?.keyId)
      seen.push(decision.ok ? (decision.auth?.keyId ?? 'pass') : decision.response.status)
    }
    expect(seen).toEqual([expect.any(String), 401, 'pass', 'pass'])
  })

  it('a throw, even of a falsy value, goes to fail() once, synchronously or not; the promise form rejects', async () => {
    const { kw, mint } = setup()
    const key = await mint()
    const request = { method: 'GET', headers: { 'x-api-key': key } }
    const throwers: Array<() => unknown> = [
      () => {
        throw new Error('sync')
      },
      () => {
        throw undefined // the case under test
      },
      () => Promise.reject(new Error('async')),
      () => Promise.reject(null),
    ]
    for (const project of throwers) {
      const decide = createAuthenticator(kw, { project }, read)
      const calls = await viaInto(decide, request)
      expect(calls).toHaveLength(1)
      expect(calls[0]![0]).toBe('fail')
      const rejected = await decide(request).then(
        () => 'resolved',
        () => 'rejected',
      )
      expect(rejected).toBe('rejected')
    }
  })

  it('now() answers a cached key at once, a store lookup with a promise, and throws a synchronous failure', async () => {
    const { kw, mint } = setup()
    const key = await mint({ rateLimit: { limit: 10, windowMs: 60_000 } })
    const decide = createAuthenticator(kw, {}, read)
    const request = { method: 'GET', headers: { 'x-api-key': key } }
    // Not cached yet: the store is asked, so a promise.
    const first = decide.now(request)
    expect(first).toBeInstanceOf(Promise)
    const awaited = await first
    expect(awaited.ok).toBe(true)
    // Cached: the decision itself, the same key, the limiter moved on by one.
    const second = decide.now(request)
    expect(second).not.toBeInstanceOf(Promise)
    const decision = second as Decision
    expect(decision.ok && awaited.ok && decision.auth?.keyId === awaited.auth?.keyId).toBe(true)
    expect(decision.ok && decision.headers.ratelimit).toMatch(/r=8/)
    // A preflight passes at once with no auth.
    const preflight = decide.now({ method: 'OPTIONS', headers: { origin: 'https://a.example', 'access-control-request-method': 'POST' } })
    expect(preflight).toEqual({ ok: true, auth: undefined, headers: {} })
    // A refusal is the same as the promise form's.
    const refused = await decide.now({ method: 'GET', headers: {} })
    expect(refused.ok || refused.response.status).toBe(401)
    // A synchronous failure is thrown where it happened, for the caller to catch; the promise form rejects.
    const throws = createAuthenticator(
      kw,
      {
        project: () => {
          throw new Error('sync project')
        },
      },
      read,
    )
    expect(() => throws.now(request)).toThrow('sync project')
    await expect(throws(request)).rejects.toThrow('sync project')
  })
})
