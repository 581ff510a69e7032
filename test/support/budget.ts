/**
 * Budgets for tests whose work is fixed but whose duration is the machine's: property tests (a set
 * number of fast-check runs) and exhaustive loops. On a loaded 2-core CI machine they run 5-10
 * times slower than on a quiet one, so vitest's 5 s default failed them (the origin property took
 * 9.5 s). Each such test takes this option: a bound that only a hang reaches, while its run count
 * (what makes it meaningful) stays what the test says.
 *
 * @example
 * ```ts
 * it('round-trips (property)', CPU_BOUND, () => { fc.assert(fc.property(...), { numRuns: 500 }) })
 * ```
 */
export const CPU_BOUND = { timeout: 120_000 } as const
