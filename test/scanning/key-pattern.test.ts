import { describe, expect, it } from 'vitest'
import { leakedKeyPattern } from '../../src/index.js'
import { CHECKSUM_LENGTH, generateKey } from '../../src/keys/format.js'

describe('leakedKeyPattern', () => {
  const pattern = leakedKeyPattern('bsk')

  it('is the documented expression', () => {
    expect(pattern.source).toBe('(?<![0-9A-Za-z_])bsk_(?:live|test)_[0-9A-Za-z]{44}(?![0-9A-Za-z_])')
    expect(leakedKeyPattern(['bsk', 'tk2']).source).toBe('(?<![0-9A-Za-z_])(?:bsk|tk2)_(?:live|test)_[0-9A-Za-z]{44}(?![0-9A-Za-z_])')
  })

  it('matches every generated key, alone and inside text', () => {
    for (let i = 0; i < 500; i++) {
      const { key } = generateKey('bsk', i % 2 === 0 ? 'live' : 'test')
      expect(pattern.test(key)).toBe(true)
      for (const text of [`API_KEY=${key}\n`, `"${key}"`, `Bearer ${key}`, `key: '${key}',`]) {
        expect(text.match(new RegExp(pattern.source, 'g'))).toEqual([key])
      }
    }
  })

  it('does not match near misses', () => {
    const { key } = generateKey('bsk', 'live')
    const nearMisses = [
      key.slice(0, -1), // one character short
      key + 'A', // one too many
      'x' + key, // glued to a longer word
      '_' + key,
      key + '_',
      key.replace('bsk_', 'bsx_'), // another prefix
      key.replace('_live_', '_prod_'), // no such environment
      key.replace('_live_', '_LIVE_'),
      key.slice(0, -CHECKSUM_LENGTH) + '-'.repeat(CHECKSUM_LENGTH), // not base62
      key.replace('bsk_', 'BSK_'),
    ]
    for (const miss of nearMisses) expect(pattern.test(miss), miss).toBe(false)
  })

  it('refuses a prefix the key format does not allow', () => {
    expect(() => leakedKeyPattern('my_app')).toThrow(TypeError)
    expect(() => leakedKeyPattern([])).toThrow(TypeError)
  })
})
