import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { BASE62, decodeBase62, encodeBase62 } from '../../src/internal/base62.js'
import { CPU_BOUND } from '../support/budget.js'

describe('decodeBase62', () => {
  it('reads back what encodeBase62 wrote, for every 32-bit value (property)', CPU_BOUND, () => {
    fc.assert(
      fc.property(fc.nat({ max: 0xffffffff }), (value) => {
        expect(decodeBase62(encodeBase62(value, 6))).toBe(value)
      }),
      { numRuns: 2000 },
    )
  })

  it('reads a slice, most significant digit first', () => {
    expect(decodeBase62('xx10yy', 2, 4)).toBe(62)
    expect(decodeBase62('zz', 0, 2)).toBe(61 * 62 + 61)
    expect(decodeBase62('')).toBe(0)
  })

  it('is -1 when any character is not a base62 digit, ASCII or not', () => {
    for (const bad of ['_', '-', ' ', 'é', '\u0130', '\uff10']) {
      expect(decodeBase62(`00${bad}0`)).toBe(-1)
      expect(BASE62.includes(bad)).toBe(false)
    }
  })
})
