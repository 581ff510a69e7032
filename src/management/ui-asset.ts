import { readHeader } from '../http/credentials.js'
import type { ManagementRequest, ManagementResponse } from './types.js'
import { httpProblem } from './problems.js'
import { UI_SCRIPT, UI_SCRIPT_ETAG } from './ui-script.generated.js'

/**
 * Answers `GET <mount>/ui/keyward-keys.js`: the `<keyward-keys>` component, the same file as the
 * `keyward/ui` package entry. No credential is asked: it is the package's public code, with no
 * data and no secret in it, and a `<script type="module" src>` cannot send an Authorization
 * header. Cached for five minutes, then revalidated by its ETag (a new keyward version is picked
 * up within that time); `nosniff` so it is never run as anything but a script.
 *
 * @example
 * ```ts
 * if (request.path === UI_SCRIPT_PATH) return serveUiScript(request)
 * ```
 */
export function serveUiScript(request: ManagementRequest): ManagementResponse {
  const method = request.method.toUpperCase()
  if (method !== 'GET' && method !== 'HEAD')
    return httpProblem('method_not_allowed', 405, 'Method Not Allowed', 'Use GET, HEAD', { allow: 'GET, HEAD' })
  const headers = {
    'content-type': 'text/javascript; charset=utf-8',
    'cache-control': 'public, max-age=300',
    etag: UI_SCRIPT_ETAG,
    'x-content-type-options': 'nosniff',
  }
  const match = readHeader(request.headers, 'if-none-match')
  const tags = typeof match === 'string' ? match.split(',').map((tag) => tag.trim().replace(/^W\//, '')) : []
  if (tags.includes(UI_SCRIPT_ETAG) || tags.includes('*')) return { status: 304, headers, body: '' }
  return { status: 200, headers, body: method === 'HEAD' ? '' : UI_SCRIPT }
}
