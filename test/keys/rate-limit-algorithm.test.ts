import { describe, expect, it } from 'vitest'
import { createKeyward, KeywardError, type VerifyResult } from '../../src/index.js'
import { formatRate } from '../../src/cli/output.js'
import { parseRate } from '../../src/cli/parse-values.js'
import { isKeyRecord } from '../../src/keys/record-codec.js'
import { setup } from '../support/setup.js'

const HOUR = 3_600_000
const ok = (r: VerifyResult) => {
  if (!r.ok) throw new Error(`refused: ${r.error.code}`)
  return r
}

async function fieldsOf(promise: Promise<unknown>): Promise<string[]> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(KeywardError)
  expect((error as KeywardError).code).toBe('validation_failed')
  return (error as KeywardError).errors!.map((issue) => `${issue.field}: ${issue.message}`)
}

describe('a rule’s algorithm through the key lifecycle and verify()', () => {
  it('issue 18: a fixed-window 3/hour key is served exactly 3 calls within the hour, with the window’s end in the headers', async () => {
    const { kw, mint, bearer, clock } = setup()
    // Start 5 minutes into a clock hour: 5 calls, 10 minutes apart, all within it.
    clock.set(Math.ceil(clock.now() / HOUR) * HOUR + 5 * 60_000)
    const { key, info } = await mint({ rateLimit: { limit: 3, windowMs: HOUR, algorithm: 'fixed-window' } })
    expect(info.rateLimit).toEqual([{ limit: 3, windowMs: HOUR, algorithm: 'fixed-window' }])
    const results: VerifyResult[] = []
    for (let i = 0; i < 5; i++) {
      results.push(await kw.verify({ headers: bearer(key) }))
      clock.advance(10 * 60_000)
    }
    expect(results.map((r) => (r.ok ? 'ok' : r.error.code))).toEqual(['ok', 'ok', 'ok', 'rate_limited', 'rate_limited'])
    expect(ok(results[0]!).headers.ratelimit).toBe('"default";r=2;t=3300')
    const refused = results[3]!
    if (refused.ok) throw new Error('served')
    // 00:35: the quota is back at the hour, 25 minutes on.
    expect(refused.error.headers['retry-after']).toBe('1500')
    expect(refused.error.headers.ratelimit).toBe('"default";r=0;t=1500')
    clock.advance(10 * 60_000) // 01:05 (the loop left the clock at 00:55), a new window
    expect(ok(await kw.verify({ headers: bearer(key) })).headers.ratelimit).toBe('"default";r=2;t=3300')
  })

  it('takes and keeps the algorithm through update; refuses an unknown one and a sliding window over 1000', async () => {
    const { kw, mint } = setup()
    const { info } = await mint()
    const updated = await kw.keys.update(info.id, {
      rateLimit: [{ limit: 10, windowMs: 60_000, algorithm: 'sliding-window', name: 'minute' }],
    })
    expect(updated.rateLimit).toEqual([{ limit: 10, windowMs: 60_000, algorithm: 'sliding-window', name: 'minute' }])
    expect(await fieldsOf(kw.keys.update(info.id, { rateLimit: { limit: 10, windowMs: 60_000, algorithm: 'leaky' as never } }))).toEqual([
      "rateLimit.algorithm: must be one of 'gcra', 'fixed-window', 'sliding-window'",
    ])
    expect(
      await fieldsOf(
        kw.keys.create({
          name: 'n',
          orgId: 'o',
          projects: ['p'],
          rateLimit: [{ limit: 1001, windowMs: 60_000, algorithm: 'sliding-window' }],
        }),
      ),
    ).toEqual(['rateLimit[0].limit: must be at most 1000 for a sliding-window rule'])
    expect((await kw.keys.get(info.id))!.rateLimit).toEqual(updated.rateLimit)
  })

  it('createKeyward checks defaultRateLimit’s algorithm with a TypeError naming it', () => {
    expect(() =>
      createKeyward({ prefix: 'bsk', defaultRateLimit: { limit: 1, windowMs: 1000, algorithm: 'token-bucket' as never } }),
    ).toThrow(/defaultRateLimit\.algorithm/)
    expect(() =>
      createKeyward({ prefix: 'bsk', defaultRateLimit: [{ limit: 5000, windowMs: 1000, algorithm: 'sliding-window' }] }),
    ).toThrow(/defaultRateLimit\[0\]\.limit must be at most 1000/)
    expect(() => createKeyward({ prefix: 'bsk', defaultRateLimit: { limit: 1, windowMs: 1000, algorithm: 'fixed-window' } })).not.toThrow()
  })

  it('a stored record with an algorithm keyward does not know is malformed, never counted as GCRA', async () => {
    const { mint, store } = setup()
    const { info } = await mint({ rateLimit: { limit: 3, windowMs: HOUR, algorithm: 'fixed-window' } })
    const record = (await store.findById(info.id))!
    expect(isKeyRecord(record)).toBe(true)
    expect(isKeyRecord({ ...record, rateLimit: [{ limit: 3, windowMs: HOUR, algorithm: 'leaky' }] })).toBe(false)
    expect(isKeyRecord({ ...record, rateLimit: [{ limit: 3, windowMs: HOUR }] })).toBe(true)
  })
})

describe('the CLI’s --rate', () => {
  it('takes an algorithm after the rate, and prints it back as given', () => {
    for (const text of ['3/h:fixed-window', '100/10m:sliding-window', '5/s:gcra', '5000/h']) expect(formatRate(parseRate(text)!)).toBe(text)
    expect(parseRate('3/h:fixed-window')).toEqual({ limit: 3, windowMs: HOUR, algorithm: 'fixed-window' })
    expect(parseRate('3/h:leaky')).toBeNull()
    expect(parseRate('3/h:')).toBeNull()
  })
})
