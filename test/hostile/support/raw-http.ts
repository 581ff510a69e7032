/**
 * A raw HTTP/1.1 client over a TCP socket: the hostile suite must send what fetch and
 * node:http refuse to build (control characters, duplicate Authorization lines, bytes past
 * ASCII), so it writes the request bytes itself and parses the answer by hand.
 */
import { connect } from 'node:net'

/** What came back: status, lowercase header record (last value wins) and the decoded body. */
export interface RawReply {
  status: number
  headers: Record<string, string>
  text: string
  body: Record<string, unknown>
}

/**
 * Sends `GET path` (or `method`) with exactly these header lines, in this order, as UTF-8 bytes
 * (or latin-1, one byte per character, to send single bytes past ASCII as Node will decode them).
 * `Host` and `Connection: close` are added first.
 */
export function rawRequest(
  baseUrl: string,
  path: string,
  headers: ReadonlyArray<readonly [string, string]>,
  method = 'GET',
  encoding: 'utf8' | 'latin1' = 'utf8',
): Promise<RawReply> {
  const { hostname, port } = new URL(baseUrl)
  const head = [
    `${method} ${path} HTTP/1.1`,
    `Host: ${hostname}:${port}`,
    'Connection: close',
    ...headers.map(([n, v]) => `${n}: ${v}`),
  ].join('\r\n')
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname)
    const chunks: Buffer[] = []
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no answer to ${method} ${path}`)))
    socket.on('data', (chunk) => chunks.push(chunk))
    socket.on('error', reject)
    socket.on('close', () => {
      try {
        resolve(parseReply(Buffer.concat(chunks)))
      } catch (error) {
        reject(error as Error)
      }
    })
    socket.write(Buffer.from(`${head}\r\n\r\n`, encoding))
  })
}

function parseReply(raw: Buffer): RawReply {
  const end = raw.indexOf('\r\n\r\n')
  if (end === -1) throw new Error(`incomplete HTTP answer: ${JSON.stringify(raw.toString('latin1').slice(0, 200))}`)
  const [statusLine, ...lines] = raw.subarray(0, end).toString('latin1').split('\r\n')
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine!)?.[1])
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  let payload = raw.subarray(end + 4)
  if (headers['transfer-encoding'] === 'chunked') payload = dechunk(payload)
  const text = payload.toString('utf8')
  let body: Record<string, unknown> = {}
  try {
    body = JSON.parse(text) as Record<string, unknown>
  } catch {
    // Not JSON (Node's own bare 400, for instance): assertions on the body will say so.
  }
  return { status, headers, text, body }
}

function dechunk(data: Buffer): Buffer {
  const out: Buffer[] = []
  let at = 0
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at)
    if (lineEnd === -1) break
    const size = parseInt(data.subarray(at, lineEnd).toString('latin1'), 16)
    if (!(size > 0)) break
    out.push(data.subarray(lineEnd + 2, lineEnd + 2 + size))
    at = lineEnd + 2 + size + 2
  }
  return Buffer.concat(out)
}
