/**
 * The CLI's redaction of connection strings in driver messages: the whole password, even with
 * `@` in it, and work linear in the message (counted as characters handed to regular expressions,
 * never timed).
 */
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { redactUrlCredentials } from '../../src/cli/redact.js'

const original = RegExp.prototype.exec
afterEach(() => {
  RegExp.prototype.exec = original
})

/** The longest input any regular expression was handed while `fn` ran. */
function longestRegexInput(fn: () => unknown): number {
  let longest = 0
  RegExp.prototype.exec = function (this: RegExp, input: string) {
    longest = Math.max(longest, String(input).length)
    return original.call(this, input)
  }
  try {
    fn()
  } finally {
    RegExp.prototype.exec = original
  }
  return longest
}

describe('redactUrlCredentials', () => {
  it.each([
    ['postgres://app:s3cr@t!@db/x', 'postgres://app:***@db/x'],
    ['connect postgres://app:p@ss:w@rd@db.internal:5432/app failed', 'connect postgres://app:***@db.internal:5432/app failed'],
    ['redis://:hunter2@cache:6379', 'redis://:***@cache:6379'],
    ['redis://default:a@b@c@cache', 'redis://default:***@cache'],
    // No colon: the userinfo may be a bare token (redis://<password>@host): all of it is hidden.
    ['redis://t0k3n@cache:6379/0', 'redis://***@cache:6379/0'],
    ['a postgres://u:one@h1/x and a redis://:two@h2 too', 'a postgres://u:***@h1/x and a redis://:***@h2 too'],
    // Only the authority counts: an @ after the first / is the path or the query, not a password.
    ['postgres://db:5432/x?user=a@b', 'postgres://db:5432/x?user=a@b'],
    ['postgres://u:pw@db/x?note=a@b', 'postgres://u:***@db/x?note=a@b'],
    // The URL ends at whitespace, as in the old pattern: later words are not the password.
    ['postgres://u:pw@db failed for user x@y', 'postgres://u:***@db failed for user x@y'],
    ['no url here, mail me at a@b.example', 'no url here, mail me at a@b.example'],
    ['connect ECONNREFUSED 127.0.0.1:5432', 'connect ECONNREFUSED 127.0.0.1:5432'],
    ['://u:pw@db', '://u:pw@db'],
    // libpq reads the password from the query too.
    ['postgres://db/x?user=app&password=s3cr3t&sslmode=require', 'postgres://db/x?user=app&password=***&sslmode=require'],
    ['postgres://db/x?PassWord=s3cr3t', 'postgres://db/x?PassWord=***'],
    ['postgres://db/x?sslpassword=k3y#frag failed', 'postgres://db/x?sslpassword=***#frag failed'],
    ['postgres://u:pw@db/x?password=two', 'postgres://u:***@db/x?password=***'],
    ['set password=visible is not a query', 'set password=visible is not a query'],
    ['postgres://db/x?password=', 'postgres://db/x?password='],
  ])('%s', (message, expected) => {
    expect(redactUrlCredentials(message)).toBe(expected)
  })

  it('hides every password, whatever @ : ! # ? % it holds, and keeps the rest of the message', () => {
    const word = fc.string({ unit: fc.constantFrom(...'abcxyz019-_.'), minLength: 1, maxLength: 10 })
    const password = fc.string({ unit: fc.constantFrom(...'ab@:!#?%=$&+,;Z9'), minLength: 1, maxLength: 24 })
    fc.assert(
      fc.property(fc.constantFrom('postgres', 'postgresql', 'redis', 'rediss'), word, password, word, (scheme, user, secret, host) => {
        const message = `failed: ${scheme}://${user}:${secret}@${host}:5432/db (${secret.length})`
        expect(redactUrlCredentials(message)).toBe(`failed: ${scheme}://${user}:***@${host}:5432/db (${secret.length})`)
      }),
      { numRuns: 300 },
    )
  })

  it.each([
    ['many schemes', 'a://'.repeat(10_000), 'a://'.repeat(10_000)],
    ['a long userinfo with no @', `postgres://app:${'x:'.repeat(20_000)}`, `postgres://app:${'x:'.repeat(20_000)}`],
    ['a long userinfo full of @', `postgres://app:${'@'.repeat(40_000)}`, 'postgres://app:***@'],
    ['many colons after a scheme', `x://${':'.repeat(40_000)}!`, `x://${':'.repeat(40_000)}!`],
    ['word characters, then a late ://', `${'w'.repeat(40_000)}://u:p@h`, `${'w'.repeat(40_000)}://u:***@h`],
    ['many short URLs', 'r://u:p@h '.repeat(4_000), 'r://u:***@h '.repeat(4_000)],
  ])('linear: %s (40,000 characters) hands no regular expression more than a few characters', (_label, message, expected) => {
    let out = ''
    expect(longestRegexInput(() => (out = redactUrlCredentials(message)))).toBeLessThanOrEqual(16)
    expect(out).toBe(expected)
  })
})
