import { describe, expect, it } from 'vitest'
import { runMaybeSync } from '../../src/internal/maybe-sync.js'

describe('runMaybeSync', () => {
  it('answers at once, with no promise, when nothing yielded is one', () => {
    const answer = runMaybeSync(
      (function* () {
        const a = (yield 1) as number
        const b = (yield 'two') as string
        return `${a}:${b}`
      })(),
    )
    expect(answer).toBe('1:two')
  })

  it('goes on asynchronously from the first promise, with its value, and through later plain values', async () => {
    const seen: unknown[] = []
    const answer = runMaybeSync(
      (function* () {
        seen.push(yield 1)
        seen.push(yield Promise.resolve(2))
        seen.push(yield 3)
        seen.push(yield Promise.resolve(4))
        return 'done'
      })(),
    )
    expect(answer).toBeInstanceOf(Promise)
    expect(seen).toEqual([1])
    await expect(answer).resolves.toBe('done')
    expect(seen).toEqual([1, 2, 3, 4])
  })

  it("throws a rejection into the generator at its yield, where its try/catch sees it, as await's would", async () => {
    const boom = new Error('store down')
    const answer = runMaybeSync(
      (function* () {
        try {
          yield Promise.reject(boom)
          return 'not reached'
        } catch (error) {
          return `caught ${(error as Error).message}`
        }
      })(),
    )
    await expect(answer).resolves.toBe('caught store down')
  })

  it('rejects when the generator does not catch, and throws when it throws before any promise', async () => {
    const boom = new Error('uncaught')
    await expect(
      runMaybeSync(
        (function* () {
          yield Promise.resolve(1)
          yield Promise.reject(boom)
          return 'not reached'
        })(),
      ),
    ).rejects.toBe(boom)
    expect(() =>
      runMaybeSync(
        (function* (): Generator<unknown, string, unknown> {
          yield 1
          throw boom
        })(),
      ),
    ).toThrow(boom)
    // A finally block runs on the rejection path too.
    let cleaned = false
    await expect(
      runMaybeSync(
        (function* () {
          try {
            yield Promise.reject(boom)
          } finally {
            cleaned = true
          }
          return 'not reached'
        })(),
      ),
    ).rejects.toBe(boom)
    expect(cleaned).toBe(true)
  })

  it('waits for any thenable, as await does (a Bluebird promise, a promise of a replaced global Promise)', async () => {
    const thenable = { then: (resolve: (value: string) => void) => resolve('from a thenable') }
    const answer = runMaybeSync(
      (function* () {
        return (yield thenable) as string
      })(),
    )
    expect(answer).toBeInstanceOf(Promise)
    await expect(answer).resolves.toBe('from a thenable')
  })
})
