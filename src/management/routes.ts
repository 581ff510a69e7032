import type { ManagementAction } from './types.js'

/**
 * One route of the management API: the method, its path pattern, and the action it performs.
 *
 * @example
 * ```ts
 * const route: ManagementRoute = { method: 'DELETE', pattern: '/keys/{id}', action: 'keys.revoke', body: false }
 * ```
 */
export interface ManagementRoute {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE'
  /** OpenAPI path template. */
  pattern: '/keys' | '/keys/{id}' | '/keys/{id}/rotate'
  action: ManagementAction
  /** Whether the route reads a JSON body. */
  body: boolean
}

/**
 * Every management route: what the handler dispatches on and what the OpenAPI document lists.
 *
 * @example
 * ```ts
 * MANAGEMENT_ROUTES.map((r) => `${r.method} ${r.pattern}`) // ['POST /keys', 'GET /keys', ...]
 * ```
 */
export const MANAGEMENT_ROUTES: readonly ManagementRoute[] = Object.freeze([
  { method: 'POST', pattern: '/keys', action: 'keys.create', body: true },
  { method: 'GET', pattern: '/keys', action: 'keys.list', body: false },
  { method: 'GET', pattern: '/keys/{id}', action: 'keys.read', body: false },
  { method: 'PATCH', pattern: '/keys/{id}', action: 'keys.update', body: true },
  { method: 'DELETE', pattern: '/keys/{id}', action: 'keys.revoke', body: false },
  { method: 'POST', pattern: '/keys/{id}/rotate', action: 'keys.rotate', body: true },
] as const)

/**
 * Where the management router serves the `<keyward-keys>` component's script, below the mount point.
 *
 * @example
 * ```ts
 * const src = `/admin${UI_SCRIPT_PATH}` // '/admin/ui/keyward-keys.js'
 * ```
 */
export const UI_SCRIPT_PATH = '/ui/keyward-keys.js'

/**
 * Where the management router answers what the caller may do and grant (the component asks it first).
 *
 * @example
 * ```ts
 * await fetch(`/admin${CAPABILITIES_PATH}`, { headers: { authorization: `Bearer ${key}` } })
 * ```
 */
export const CAPABILITIES_PATH = '/capabilities'

/**
 * True when `path` (below the mount point) belongs to the management API: `/keys` and below,
 * `/capabilities` and the component's script `/ui/keyward-keys.js`. Adapters mounted at an
 * application's root pass every other path on untouched.
 *
 * @example
 * ```ts
 * ownsPath('/keys/4fTq9ZkA') // true
 * ownsPath('/health') // false
 * ```
 */
export function ownsPath(path: string): boolean {
  return path === '/keys' || path.startsWith('/keys/') || path === CAPABILITIES_PATH || path === UI_SCRIPT_PATH
}

/**
 * The routes a path matches, whatever the method, and the key id it names. No route: null.
 *
 * @example
 * ```ts
 * matchPath('/keys/4fTq9ZkA/rotate') // { pattern: '/keys/{id}/rotate', id: '4fTq9ZkA' }
 * ```
 */
export function matchPath(path: string): { pattern: ManagementRoute['pattern']; id?: string } | null {
  // One trailing slash is forgiven: `/keys/` is `/keys`.
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path
  const parts = trimmed.split('/')
  if (parts[0] !== '' || parts[1] !== 'keys') return null
  if (parts.length === 2) return { pattern: '/keys' }
  const id = parts[2]!
  if (id === '') return null
  if (parts.length === 3) return { pattern: '/keys/{id}', id }
  if (parts.length === 4 && parts[3] === 'rotate') return { pattern: '/keys/{id}/rotate', id }
  return null
}
