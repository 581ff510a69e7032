import { optionError } from './options.js'

/**
 * Checks the `basePath` option of the management routers that match paths themselves (Koa,
 * fetch): '' or a path that starts with a slash and does not end with one, so that
 * `basePath + '/keys'` is the route.
 *
 * @example
 * ```ts
 * checkBasePath('/admin') // fine; checkBasePath('admin/') throws a TypeError
 * ```
 */
export function checkBasePath(basePath: unknown): asserts basePath is string {
  if (typeof basePath !== 'string' || (basePath !== '' && (!basePath.startsWith('/') || basePath.endsWith('/')))) {
    optionError("basePath must be '' or a path such as '/admin' (no trailing slash)")
  }
}
