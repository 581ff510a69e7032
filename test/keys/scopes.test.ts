import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createScopeExpander, DEFAULT_SCOPE_HIERARCHY, isValidScope, missingScopes } from '../../src/keys/scopes.js'
import { CPU_BOUND } from '../support/budget.js'

describe('isValidScope', () => {
  it.each(['read', 'write', 'admin', 'events:write', 'projects/prod-site', 'a', 'x'.repeat(64), "!#$%&'()*+,-./:;<=>?@[]^_`{|}~"])(
    'accepts %j',
    (scope) => {
      expect(isValidScope(scope)).toBe(true)
    },
  )

  it.each(['', 'x'.repeat(65), 'read write', ' read', 'read\n', 'a"b', 'a\\b', 'lé', '\u0000', '\u007f', 'ｒead'])(
    'refuses %j',
    (scope) => {
      expect(isValidScope(scope)).toBe(false)
    },
  )

  it('refuses non-strings', () => {
    for (const bad of [undefined, null, 1, ['read'], { read: true }]) expect(isValidScope(bad)).toBe(false)
  })

  it('accepts exactly RFC 6749 scope-tokens of 1-64 characters (property)', CPU_BOUND, () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.integer({ min: 0, max: 0x10ff }).map((c) => String.fromCharCode(c)), maxLength: 70 }), (s) => {
        const nqchar = [...s].every(
          (c) =>
            c.charCodeAt(0) === 0x21 ||
            (c.charCodeAt(0) >= 0x23 && c.charCodeAt(0) <= 0x5b) ||
            (c.charCodeAt(0) >= 0x5d && c.charCodeAt(0) <= 0x7e),
        )
        expect(isValidScope(s)).toBe(nqchar && s.length >= 1 && s.length <= 64)
      }),
    )
  })
})

describe('createScopeExpander: the ByteStack hierarchy read < write < admin', () => {
  const expand = createScopeExpander()

  it('is the default', () => {
    expect(DEFAULT_SCOPE_HIERARCHY).toEqual({ admin: ['write'], write: ['read'] })
  })

  it.each([
    [['admin'], ['admin', 'write', 'read']],
    [['write'], ['write', 'read']],
    [['read'], ['read']],
    [
      ['read', 'admin'],
      ['read', 'admin', 'write'],
    ],
    [
      ['admin', 'admin', 'write'],
      ['admin', 'write', 'read'],
    ],
    [[], []],
  ])('%j -> %j', (granted, effective) => {
    expect(expand(granted)).toEqual(effective)
  })

  it('leaves other scopes exact and case-sensitive', () => {
    expect(expand(['events:write'])).toEqual(['events:write'])
    expect(expand(['Admin'])).toEqual(['Admin'])
    expect(expand(['ADMIN', 'Write'])).toEqual(['ADMIN', 'Write'])
    expect(expand(['admin:billing'])).toEqual(['admin:billing'])
  })

  it('never expands through Object.prototype', () => {
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf']) expect(expand([name])).toEqual([name])
  })

  it('does not modify its input', () => {
    const granted = Object.freeze(['admin'])
    expect(expand(granted)).toEqual(['admin', 'write', 'read'])
    expect(granted).toEqual(['admin'])
  })
})

describe('createScopeExpander: custom hierarchies', () => {
  it('expands transitively', () => {
    const expand = createScopeExpander({ owner: ['admin'], admin: ['write', 'billing'], write: ['read'] })
    expect(expand(['owner'])).toEqual(['owner', 'admin', 'write', 'billing', 'read'])
    expect(expand(['billing'])).toEqual(['billing'])
  })

  it('survives cycles', () => {
    const expand = createScopeExpander({ a: ['b'], b: ['c'], c: ['a'] })
    expect(new Set(expand(['b']))).toEqual(new Set(['a', 'b', 'c']))
    expect(expand(['b'])).toHaveLength(3)
    expect(createScopeExpander({ self: ['self'] })(['self'])).toEqual(['self'])
  })

  it('an empty hierarchy implies nothing', () => {
    expect(createScopeExpander({})(['admin'])).toEqual(['admin'])
  })

  it('ignores inherited entries of the hierarchy object', () => {
    const hierarchy = Object.create({ admin: ['write'] }) as Record<string, string[]>
    expect(createScopeExpander(hierarchy)(['admin'])).toEqual(['admin'])
  })

  it.each([
    [{ 'bad scope': ['read'] }],
    [{ admin: 'write' }],
    [{ admin: ['write', ''] }],
    [{ admin: ['wr"ite'] }],
    [{ admin: [42] }],
    [{ admin: null }],
  ])('refuses the invalid hierarchy %j with a TypeError', (hierarchy) => {
    expect(() => createScopeExpander(hierarchy as never)).toThrow(TypeError)
  })

  it('expansion is a closure: it contains the grant, is idempotent, and is closed under the hierarchy (property)', CPU_BOUND, () => {
    const scope = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'read', 'write', 'admin')
    fc.assert(
      fc.property(fc.dictionary(scope, fc.array(scope, { maxLength: 3 })), fc.array(scope, { maxLength: 5 }), (hierarchy, granted) => {
        const expand = createScopeExpander(hierarchy)
        const out = expand(granted)
        expect(new Set(out).size).toBe(out.length)
        for (const g of granted) expect(out).toContain(g)
        for (const s of out) for (const implied of hierarchy[s] ?? []) expect(out).toContain(implied)
        expect(new Set(expand(out))).toEqual(new Set(out))
        // Minimal: everything in it is reachable from the grant.
        const reachable = new Set<string>(granted)
        for (let changed = true; changed;) {
          changed = false
          for (const s of [...reachable]) {
            for (const i of hierarchy[s] ?? []) {
              if (reachable.has(i)) continue
              reachable.add(i)
              changed = true
            }
          }
        }
        expect(new Set(out)).toEqual(reachable)
      }),
    )
  })
})

describe('missingScopes', () => {
  const expand = createScopeExpander()

  it('is empty when every required scope is there', () => {
    expect(missingScopes(expand(['admin']), ['read'])).toEqual([])
    expect(missingScopes(expand(['admin']), ['write', 'read', 'admin'])).toEqual([])
    expect(missingScopes(expand(['write']), ['read'])).toEqual([])
    expect(missingScopes(expand(['read']), [])).toEqual([])
    expect(missingScopes([], [])).toEqual([])
  })

  it('lists what is missing, in the order required', () => {
    expect(missingScopes(expand(['read']), ['write'])).toEqual(['write'])
    expect(missingScopes(expand(['write']), ['admin', 'read', 'events:write'])).toEqual(['admin', 'events:write'])
    expect(missingScopes([], ['read'])).toEqual(['read'])
  })

  it('compares exactly and case-sensitively', () => {
    expect(missingScopes(['read'], ['Read'])).toEqual(['Read'])
    expect(missingScopes(['events:write'], ['events'])).toEqual(['events'])
    expect(missingScopes(['events'], ['events:write'])).toEqual(['events:write'])
  })

  it('a read key cannot write, a write key cannot administer (ByteStack)', () => {
    for (const [granted, allowed] of [
      ['read', ['read']],
      ['write', ['read', 'write']],
      ['admin', ['read', 'write', 'admin']],
    ] as const) {
      for (const required of ['read', 'write', 'admin']) {
        expect(missingScopes(expand([granted]), [required]).length === 0, `${granted} -> ${required}`).toBe(
          (allowed as readonly string[]).includes(required),
        )
      }
    }
  })

  it('agrees with set difference (property)', CPU_BOUND, () => {
    const scope = fc.constantFrom('read', 'write', 'admin', 'x', 'X', 'events:write')
    fc.assert(
      fc.property(fc.array(scope), fc.array(scope), (effective, required) => {
        expect([...missingScopes(effective, required)]).toEqual(required.filter((s) => !effective.includes(s)))
      }),
    )
  })
})

describe('scope hierarchies cannot be changed after the fact', () => {
  it('the default is frozen, and an expander keeps its own copy of a custom one', async () => {
    const { DEFAULT_SCOPE_HIERARCHY: defaults, createScopeExpander: make } = await import('../../src/keys/scopes.js')
    expect(Object.isFrozen(defaults)).toBe(true)
    expect(Object.isFrozen(defaults.write)).toBe(true)
    const custom: Record<string, string[]> = { write: ['read'] }
    const expand = make(custom)
    custom.read = ['admin']
    custom.write!.push('admin')
    expect(expand(['read'])).toEqual(['read'])
    expect(expand(['write'])).toEqual(['write', 'read'])
  })
})
