import { describe, expect, it } from 'vitest'
import {
  boolean,
  checkOptions,
  closestName,
  func,
  integer,
  nested,
  numberAbove,
  oneOf,
  orFalse,
  required,
  withMethods,
} from '../../src/internal/options.js'

describe('closestName', () => {
  it.each([
    ['lockOut', ['prefix', 'lockout', 'limiter'], 'lockout'],
    ['ttlMS', ['ttlMs', 'max', 'negativeTtlMs'], 'ttlMs'],
    ['scope', ['project', 'scopes', 'optional'], 'scopes'],
    ['qouta', ['quota', 'fallback'], 'quota'],
    ['kdi', ['alg', 'secret', 'kid'], 'kid'],
    ['timeout', ['timeoutMs', 'prefix'], 'timeoutMs'],
  ])('suggests %s -> %s', (name, candidates, expected) => {
    expect(closestName(name, candidates)).toBe(expected)
  })

  it.each([
    ['verbose', ['prefix', 'lockout', 'cache']],
    ['ip', ['id', 'at']],
    ['x', ['y']],
  ])('suggests nothing for %s, which is near no option', (name, candidates) => {
    expect(closestName(name, candidates)).toBeUndefined()
  })

  it('prefers the nearest of several candidates', () => {
    expect(closestName('maxKey', ['maxKeys', 'maxKe'])).toBe('maxKeys')
    expect(closestName('maxkeys', ['maxAddresses', 'maxKeys'])).toBe('maxKeys')
  })
})

describe('checkOptions', () => {
  const rules = {
    size: required(integer({ min: 1, max: 10 })),
    cache: orFalse(nested({ ttlMs: integer({ min: 0 }), on: boolean })),
    mode: oneOf(['fast', 'safe']),
    hook: func('(event) => void'),
    timeout: numberAbove(0, 'must be a positive number of ms'),
    client: withMethods(['get'], 'a client'),
  }
  const check =
    (value: unknown, at = {}) =>
    () =>
      checkOptions(value as object, rules, at)

  it('returns the options it accepts, untouched', () => {
    const options = { size: 3, cache: false, mode: 'safe', hook: () => {}, timeout: 0.5, client: { get() {} } }
    expect(checkOptions(options, rules)).toBe(options)
    expect(check({ size: 10, cache: { ttlMs: 0, on: true } })).not.toThrow()
  })

  it.each([
    [null, /^keyward: options must be an object, got null$/],
    [[], /options must be an object, got an array/],
    ['size=3', /options must be an object, got a string/],
    [{}, /^keyward: size is required$/],
    [{ size: 3, colour: 4 }, /^keyward: unknown option "colour"; expected one of size, cache, mode, hook, timeout, client$/],
    [{ size: 3, Mode: 'fast' }, /unknown option "Mode" \(did you mean "mode"\?\)/],
    [{ size: 0 }, /^keyward: size must be an integer from 1 to 10, got 0$/],
    [{ size: 2.5 }, /size must be an integer from 1 to 10, got 2.5/],
    [{ size: '3' }, /size must be an integer from 1 to 10, got a string/],
    [{ size: 3, cache: { ttlMs: -1 } }, /^keyward: cache\.ttlMs must be an integer of at least 0, got -1$/],
    [{ size: 3, cache: { ttlMS: 1 } }, /unknown option "cache\.ttlMS" \(did you mean "cache\.ttlMs"\?\)/],
    [{ size: 3, cache: true }, /cache must be an object, got true/],
    [{ size: 3, cache: { on: 'yes' } }, /cache\.on must be a boolean/],
    [{ size: 3, mode: 'slow' }, /^keyward: mode must be 'fast' or 'safe'$/],
    [{ size: 3, hook: 'log' }, /hook must be a function \(event\) => void, got a string/],
    [{ size: 3, timeout: 0 }, /timeout must be a positive number of ms, got 0/],
    [{ size: 3, timeout: Number.NaN }, /timeout must be a positive number of ms/],
    [{ size: 3, client: {} }, /client must be a client \(with get\)/],
  ])('refuses %j', (value, message) => {
    expect(check(value)).toThrow(TypeError)
    expect(check(value)).toThrow(message)
  })

  it('names the object by its path, lets known names through and words unknown ones with the label', () => {
    expect(check({ size: 3, extra: 1 }, { path: 'outer', label: 'store option', known: ['extra'] })).not.toThrow()
    expect(check({ size: 3, extar: 1 }, { path: 'outer', label: 'store option', known: ['extra'] })).toThrow(
      /unknown store option "outer\.extar" \(did you mean "outer\.extra"\?\)/,
    )
    expect(check({ size: 0 }, { path: 'outer' })).toThrow(/outer\.size must be/)
    expect(check(5, { notObject: 'Thing needs { size }' })).toThrow(/^keyward: Thing needs \{ size \}$/)
  })

  it('never echoes a string value, which may be a secret', () => {
    const secret = 'bsk_live_AbCd1234SECRETSECRETSECRETSECRET00'
    for (const value of [
      { size: secret },
      { size: 3, hook: secret },
      { size: 3, mode: secret },
      { size: 3, cache: secret },
      { size: 3, client: secret },
      secret,
    ]) {
      expect(check(value)).toThrow(TypeError)
      expect(check(value)).not.toThrow(/SECRET/)
    }
  })
})
