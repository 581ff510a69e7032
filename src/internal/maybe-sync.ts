/**
 * Runs a generator written like an async function (`yield` where it would `await`, and only on
 * native promises or plain values) without a promise when nothing it yields is one: the answer
 * is then returned at once, and a promise only from the first yielded promise on. A rejection
 * is thrown into the generator at its `yield`, as `await` would, so its try/catch blocks work
 * unchanged.
 *
 * @example
 * ```ts
 * const answer = runMaybeSync(function* () {
 *   const entry = (yield cache.get(id)) as Entry // a value, or a promise of one
 *   return entry.name
 * }())
 * if (isPromiseLike(answer)) await answer
 * ```
 */
export function runMaybeSync<T>(steps: Generator<unknown, T, unknown>): T | Promise<T> {
  let step = steps.next()
  while (!step.done) {
    if (isPromiseLike(step.value)) return continueAsync(steps, step.value)
    step = steps.next(step.value)
  }
  return step.value
}

async function continueAsync<T>(steps: Generator<unknown, T, unknown>, pending: PromiseLike<unknown>): Promise<T> {
  let waiting: unknown = pending
  for (;;) {
    let step: IteratorResult<unknown, T>
    if (isPromiseLike(waiting)) {
      let value: unknown
      try {
        value = await waiting
      } catch (error) {
        // Into the generator at its yield, as await would throw it there. If the generator does
        // not catch it, throw() throws it on and the returned promise rejects.
        step = steps.throw(error)
        if (step.done) return step.value
        waiting = step.value
        continue
      }
      step = steps.next(value)
    } else {
      step = steps.next(waiting)
    }
    if (step.done) return step.value
    waiting = step.value
  }
}

/**
 * True for anything `await` would wait for: an object or function with a callable `then`. Not
 * `instanceof Promise`: where the global Promise was replaced (zone.js, a Bluebird global) the
 * engine's own promises fail that test, and a store's Bluebird promise never passes it.
 *
 * @example
 * ```ts
 * isPromiseLike(Promise.resolve(1)) // true
 * isPromiseLike({ ok: true }) // false
 * ```
 */
export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function'
  )
}
