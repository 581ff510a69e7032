/**
 * Linear-time parsing: no input an attacker controls makes keyward run a regular expression on
 * more than a fixed number of characters, however long the header. Work is counted, never timed:
 * every RegExp execution (test, exec, match, replace and split all go through
 * `RegExp.prototype.exec` once it is replaced) is recorded with the length of its input. The
 * regular expressions left on these paths are linear by construction (no quantifier can match
 * the same characters two ways; see SECURITY.md), so bounding what they see bounds their work.
 */
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { createClientIpResolver, createKeyward } from 'keyward'
import { extractCredential, urlHasCredential } from '../../src/http/credentials.js'
import { parseIp } from '../../src/http/ip.js'
import { originHostname } from '../../src/http/origin.js'
import { generateKey } from '../../src/keys/format.js'
import { MAX_CREDENTIAL_LENGTH } from '../../src/http/credentials.js'

/** The most characters any one regular expression may look at, whatever the input's length. */
const REGEX_INPUT_CAP = MAX_CREDENTIAL_LENGTH
/** Characters all regular expressions of one call may look at together. */
const REGEX_TOTAL_CAP = 4 * MAX_CREDENTIAL_LENGTH

interface Work {
  runs: number
  longest: number
  total: number
}

const original = RegExp.prototype.exec
afterEach(() => {
  RegExp.prototype.exec = original
})

/** Runs `fn` counting every regular expression execution and the characters it was given. */
async function regexWork(fn: () => unknown): Promise<Work> {
  const work: Work = { runs: 0, longest: 0, total: 0 }
  RegExp.prototype.exec = function (this: RegExp, input: string) {
    const length = String(input).length
    work.runs++
    work.total += length
    work.longest = Math.max(work.longest, length)
    return original.call(this, input)
  }
  try {
    await fn()
  } finally {
    RegExp.prototype.exec = original
  }
  return work
}

function expectBounded(work: Work) {
  expect(work.longest, 'longest input handed to a regular expression').toBeLessThanOrEqual(REGEX_INPUT_CAP)
  expect(work.total, 'characters handed to regular expressions in all').toBeLessThanOrEqual(REGEX_TOTAL_CAP)
}

const kw = createKeyward({ prefix: 'bsk', lockout: false, usageFlushMs: false })
const key = generateKey('bsk', 'live').key

/** Long runs of what makes a backtracking parser work hardest: separators, then a late mismatch. */
const PADS = [' ', '\t', 'a', 'A', '=', '.', ':', ',', '/', '%', '0', 'bearer ', 'eyJ', '\u00ad']
const TAILS = ['', '\nx', '\u0000', '!', ' x', '=a', '.', key, '@evil.com', ':99999', ']']
const HEADS = ['', 'Bearer', 'Bearer ', 'bearer', 'BEARER ', 'Bearer\t', 'https://', 'http://a', '[', 'eyJ', `${key} `, 'Basic ']
const longInput = fc
  .tuple(fc.constantFrom(...HEADS), fc.constantFrom(...PADS), fc.integer({ min: 1_000, max: 60_000 }), fc.constantFrom(...TAILS))
  .map(([head, pad, n, tail]) => head + pad.repeat(Math.ceil(n / pad.length)) + tail)
const HEADER_NAMES = ['authorization', 'x-api-key', 'api-key', 'origin', 'x-forwarded-for']

describe('linear-time parsing: regex work does not grow with the input', () => {
  it("the issue's input: Bearer, 30,000 spaces, a newline", async () => {
    const headers = { authorization: `Bearer${' '.repeat(30_000)}\nx` }
    const work = await regexWork(() => kw.verify({ headers, ip: '203.0.113.7' }))
    expectBounded(work)
    const result = await kw.verify({ headers })
    expect(result.ok === false && result.error.code).toBe('invalid_request')
  })

  it('verify(): any long header value, alone or beside a valid key, on any credential or origin header', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...HEADER_NAMES), longInput, fc.boolean(), async (name, value, withKey) => {
        const headers: Record<string, string> = { [name]: value }
        if (withKey && name !== 'x-api-key') headers['x-api-key'] = key
        expectBounded(await regexWork(() => kw.verify({ headers, ip: '203.0.113.7', url: `/x?q=${value.slice(0, 20_000)}` })))
      }),
      { numRuns: 60 },
    )
  }, 120_000)

  it('the longest credential allowed, the same in every credential header, with JWTs on', async () => {
    // A JWT-shaped b64token of exactly MAX_CREDENTIAL_LENGTH characters: every check passes it, so
    // each copy would reach the syntax check, and looksLikeJwt runs on it as well.
    const jwtKw = createKeyward({
      prefix: 'bsk',
      lockout: false,
      usageFlushMs: false,
      jwt: {
        issuer: 'https://issuer.example',
        audience: 'api',
        signingKey: { alg: 'HS256', secret: 'a-linear-parsing-secret-of-32-bytes!' },
      },
    })
    const head = 'eyJhbGciOiJIUzI1NiJ9.'
    const value = `${head}${'a'.repeat(MAX_CREDENTIAL_LENGTH - head.length - 2)}.s`
    expect(value.length).toBe(MAX_CREDENTIAL_LENGTH)
    const headers = { authorization: `Bearer ${value}`, 'x-api-key': value, 'api-key': value }
    const work = await regexWork(() => jwtKw.verify({ headers, ip: '203.0.113.7' }))
    expectBounded(work)
    const result = await jwtKw.verify({ headers })
    expect(result.ok ? 'ok' : result.error.code).toBe('invalid_token')
  })

  it('each parser on its own: credentials, URL credentials, Origin, IP, forwarded chains', async () => {
    const resolve = createClientIpResolver(['127.0.0.1'])
    await fc.assert(
      fc.asyncProperty(longInput, async (value) => {
        expectBounded(await regexWork(() => extractCredential({ authorization: value, 'x-api-key': value })))
        expectBounded(await regexWork(() => urlHasCredential(`/path?${value}`, ['bsk'])))
        expectBounded(await regexWork(() => originHostname(value)))
        expectBounded(await regexWork(() => parseIp(value)))
        expectBounded(await regexWork(() => resolve('127.0.0.1', [value, `${value}, 127.0.0.1`])))
      }),
      { numRuns: 60 },
    )
  }, 120_000)
})
