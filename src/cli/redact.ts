const AT = 0x40
const COLON = 0x3a
const SLASH = 0x2f

/** `\w` of a regular expression: the characters a URL scheme's last character can be. */
function isWordChar(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || code === 0x5f
}

/** `\s` of a regular expression: where a URL quoted in a message ends. */
function isSpace(code: number): boolean {
  return (
    (code >= 0x09 && code <= 0x0d) ||
    code === 0x20 ||
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000 ||
    code === 0xfeff
  )
}

/**
 * Hides the credentials of every `scheme://user:password@host` in a message (drivers quote
 * connection strings in their errors), and the value of a `password=` / `sslpassword=` query
 * parameter. The secret part is everything after the user name up to
 * the LAST `@` before the host's first `/` (or whitespace), so a password holding `@`, `:`, `#` or
 * `?` is hidden whole; a userinfo without `:` (a bare token, `redis://<password>@host`) is hidden
 * whole too. One pass over the message, no regular expression: linear in its length.
 *
 * @example
 * ```ts
 * redactUrlCredentials('connect postgres://app:s3cr@t!@db/x failed') // 'connect postgres://app:***@db/x failed'
 * ```
 */
export function redactUrlCredentials(message: string): string {
  return redactQueryPasswords(redactUserinfo(message))
}

function redactUserinfo(message: string): string {
  let out = ''
  // message[0, copied) is already in `out`.
  let copied = 0
  let from = 0
  for (;;) {
    const scheme = message.indexOf('://', from)
    if (scheme === -1) break
    from = scheme + 1
    if (scheme === 0 || !isWordChar(message.charCodeAt(scheme - 1))) continue
    const start = scheme + 3
    let firstAt = -1
    let lastAt = -1
    let colon = -1
    // The authority holds no '/', so the next '://' starts at its last character at the earliest:
    // no character is scanned here twice, whatever the message.
    for (let i = start; i < message.length; i++) {
      const code = message.charCodeAt(i)
      if (code === SLASH || isSpace(code)) break
      if (code === AT) {
        if (firstAt === -1) firstAt = i
        lastAt = i
      } else if (code === COLON && colon === -1) colon = i
    }
    if (lastAt === -1) continue
    // The user name is kept when it is plainly one: before the first ':' and free of '@'.
    const kept = colon !== -1 && colon < firstAt ? colon + 1 : start
    out += `${message.slice(copied, kept)}***`
    copied = lastAt
  }
  return copied === 0 ? message : out + message.slice(copied)
}

/** Query parameters that carry a password in connection strings (libpq reads both). */
const PASSWORD_PARAMS = ['password=', 'sslpassword=']

/**
 * Hides the value of `?password=` / `&password=` (and `sslpassword`) wherever it appears, since libpq and
 * most drivers accept the password as a query parameter too. The value ends at `&`, `#` or whitespace.
 */
function redactQueryPasswords(message: string): string {
  const lower = message.toLowerCase()
  let out = ''
  let copied = 0
  for (let i = lower.indexOf('password=', 0); i !== -1; i = lower.indexOf('password=', i + 1)) {
    // Only a query parameter counts: the name right after '?' or '&'.
    const param = PASSWORD_PARAMS.find((name) => {
      const at = i + 9 - name.length
      const before = message.charCodeAt(at - 1)
      return at > 0 && lower.startsWith(name, at) && (before === 0x3f || before === 0x26)
    })
    if (param === undefined) continue
    if (i + 9 - param.length < copied) continue
    let end = i + 9
    while (end < message.length) {
      const code = message.charCodeAt(end)
      if (code === 0x26 || code === 0x23 || isSpace(code)) break
      end++
    }
    if (end === i + 9) continue
    out += `${message.slice(copied, i + 9)}***`
    copied = end
  }
  return copied === 0 ? message : out + message.slice(copied)
}
