/**
 * Arguments and answers between the Node test and the test Worker on workerd, encoded so that
 * what JSON would lose arrives as sent (undefined, NaN, infinities, Dates): the conformance
 * suites hand stores exactly such bad values and expect a TypeError back.
 */
export function encode(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key: string, v: unknown) {
    const raw = this[key]
    if (raw === undefined) return { $u: 1 }
    if (raw instanceof Date) return { $d: raw.getTime() }
    if (typeof raw === 'number' && !Number.isFinite(raw)) return { $n: String(raw) }
    return v
  })
}

export function decode(text: string): unknown {
  return JSON.parse(text, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v
    const tagged = v as Record<string, unknown>
    if ('$u' in tagged) return undefined
    if ('$d' in tagged) return new Date(tagged.$d as number)
    if ('$n' in tagged) return Number(tagged.$n)
    return v
  })
}

/** An error as the Worker reports it; rethrown on the Node side with the same class and message. */
export interface WireError {
  error: { name: string; message: string }
}

export function rethrow(failure: WireError): never {
  const { name, message } = failure.error
  throw name === 'TypeError' ? new TypeError(message) : new Error(message)
}
