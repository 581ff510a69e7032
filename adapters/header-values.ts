/**
 * Header values an `onError` hook returns, checked before anything is sent. Internal.
 */

// RFC 9110 §5.5 field-value characters: no CR, LF, NUL or other controls but tab.
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/

/**
 * Throws a TypeError naming the first header whose value no HTTP implementation may send. Node
 * would throw later, while writing, after the status was set; some `Headers` implementations
 * accept a bare LF and leave the throw to the server bridge, outside the app's error handling.
 *
 * @example
 * ```ts
 * assertHeaderValues({ 'x-trace': 'bad\nvalue' }) // TypeError
 * ```
 */
export function assertHeaderValues(headers: Readonly<Record<string, string>>): void {
  for (const name in headers) {
    if (!FIELD_VALUE.test(headers[name]!)) throw new TypeError(`keyward: invalid value for response header ${JSON.stringify(name)}`)
  }
}
