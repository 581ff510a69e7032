/**
 * One answer of the management routes: the status and the parsed JSON body (a problem document
 * on failure), or status 0 when the server could not be reached.
 *
 * @example
 * ```ts
 * const { status, body } = await api.call('GET', '/keys?limit=20')
 * ```
 */
export interface ApiAnswer {
  status: number
  body: Record<string, unknown>
}

/**
 * How the component reaches the routes: where they are mounted, how it proves who it is, and
 * the anti-CSRF header it always sends.
 *
 * @example
 * ```ts
 * const api = new ManagementApi(() => ({ baseUrl: '/admin', csrfHeader: 'x-keyward-csrf', credentials: 'same-origin', token: undefined }))
 * ```
 */
export interface ApiSettings {
  baseUrl: string
  csrfHeader: string
  credentials: RequestCredentials
  /** Called for every request and never kept: the host page stays the owner of its token. */
  token: (() => string | undefined | null | Promise<string | undefined | null>) | undefined
}

/**
 * A thin client of the management routes for the component.
 *
 * @example
 * ```ts
 * const answer = await new ManagementApi(settings).call('POST', '/keys', { name: 'CI', projects: ['site-a'] })
 * ```
 */
export class ManagementApi {
  readonly #settings: () => ApiSettings

  constructor(settings: () => ApiSettings) {
    this.#settings = settings
  }

  async call(method: string, path: string, body?: unknown): Promise<ApiAnswer> {
    const { baseUrl, csrfHeader, credentials, token } = this.#settings()
    const headers: Record<string, string> = { accept: 'application/json', [csrfHeader]: '1' }
    if (body !== undefined) headers['content-type'] = 'application/json'
    let response: Response
    try {
      const bearer = token === undefined ? undefined : await token()
      if (typeof bearer === 'string' && bearer !== '') headers.authorization = `Bearer ${bearer}`
      response = await fetch(baseUrl.replace(/\/+$/, '') + path, {
        method,
        headers,
        credentials,
        cache: 'no-store',
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      })
    } catch {
      return { status: 0, body: {} }
    }
    let parsed: unknown = {}
    try {
      parsed = await response.json()
    } catch {
      parsed = {}
    }
    return { status: response.status, body: parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {} }
  }
}
