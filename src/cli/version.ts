import { readFileSync } from 'node:fs'

/**
 * The installed keyward's version, read from its package.json. The file is looked up from this
 * module's own location (dist/cli.js once built, src/cli/version.ts when run from source), so the
 * answer is the package actually running, whatever the current directory.
 *
 * @example
 * ```ts
 * packageVersion() // '0.1.0'
 * ```
 */
export function packageVersion(): string {
  let dir = new URL('.', import.meta.url)
  for (let depth = 0; depth < 3; depth++) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as { name?: unknown; version?: unknown }
      if (pkg.name === 'keyward' && typeof pkg.version === 'string') return pkg.version
    } catch {
      // No package.json at this level: look one up.
    }
    dir = new URL('..', dir)
  }
  return 'unknown'
}
