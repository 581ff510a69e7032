import { afterEach, describe, expect, it, vi } from 'vitest'
import { createKeyward } from '../../src/index.js'

afterEach(() => {
  vi.restoreAllMocks()
})

describe('random values refused by the platform', () => {
  it('kw.keys.create() says why (Workers forbid random values at module scope) and stores nothing', async () => {
    const kw = createKeyward({ prefix: 'bsk' })
    // What workerd throws when a Worker draws random values while it loads.
    vi.spyOn(crypto, 'getRandomValues').mockImplementation(() => {
      throw new Error('Disallowed operation called within global scope.')
    })
    const created = kw.keys.create({ name: 'x', orgId: 'o', projects: ['p'] })
    await expect(created).rejects.toThrow(TypeError)
    await expect(created).rejects.toThrow(/keyward: no random values available.*module scope.*inside a request handler/)
    await expect(created).rejects.toMatchObject({ cause: { message: 'Disallowed operation called within global scope.' } })
    vi.restoreAllMocks()
    expect(await kw.keys.list({ orgId: 'o' })).toEqual([])
  })
})
