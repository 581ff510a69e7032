/**
 * Shares identical frozen values between cache entries: most keys carry one of a few scope sets,
 * project lists and prefixes, and a copy per key is most of what a cached key weighs.
 */

const EMPTY: readonly never[] = Object.freeze([])

/**
 * A bounded table of frozen string lists and strings, each handed out once per distinct value.
 * When full it starts over: what it handed out stays valid (frozen, shared by reference), only
 * later entries stop sharing with earlier ones, so a flood of distinct values costs no more than
 * not interning.
 *
 * @example
 * ```ts
 * const interner = new Interner(10_000)
 * interner.list(['read']) === interner.list(['read']) // true, and frozen
 * ```
 */
export class Interner {
  readonly #lists = new Map<string, readonly string[]>()
  readonly #strings = new Map<string, string>()
  readonly #max: number

  constructor(max: number) {
    this.#max = max
  }

  /** A frozen list equal to `values`, shared with every earlier equal list. */
  list(values: readonly string[]): readonly string[] {
    if (values.length === 0) return EMPTY
    // JSON, not a join: ['a,b'] and ['a', 'b'] must never share (that would grant a scope).
    const id = JSON.stringify(values)
    let shared = this.#lists.get(id)
    if (shared === undefined) {
      if (this.#lists.size >= this.#max) this.#lists.clear()
      shared = Object.freeze(values.map((value) => this.string(value)))
      this.#lists.set(id, shared)
    }
    return shared
  }

  /** The first string equal to `value` seen (while the table has room). */
  string<T extends string>(value: T): T {
    const shared = this.#strings.get(value)
    if (shared !== undefined) return shared as T
    if (this.#strings.size >= this.#max) this.#strings.clear()
    this.#strings.set(value, value)
    return value
  }
}
