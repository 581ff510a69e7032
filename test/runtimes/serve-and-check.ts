/**
 * What the Bun and Deno entries share: the core checks in-process, then the Hono app and the
 * fetch adapter's app (under /fetch) served on the runtime's own HTTP server and the HTTP checks
 * against each. Exits non-zero on any failure.
 */
import { createKeyward } from 'keyward'
import { coreChecks, report, runChecks } from './checks.js'
import { FETCH_BASE, buildFetchApp } from './fetch-checks.js'
import { buildApp, httpChecks } from './http-checks.js'

/** Starts `fetch` on a free port of 127.0.0.1; gives its port and a stop function. */
export type Serve = (fetch: (request: Request) => Response | Promise<Response>) => Promise<{ port: number; stop: () => Promise<void> }>

/**
 * Runs every check on this runtime and ends the process with the number of failures (0 = pass).
 *
 * @example
 * ```ts
 * await serveAndCheck(
 *   'bun',
 *   async (fetch) => {
 *     const s = Bun.serve({ port: 0, fetch })
 *     return { port: s.port, stop: () => s.stop() }
 *   },
 *   (code) => process.exit(code),
 * )
 * ```
 */
export async function serveAndCheck(runtime: string, serve: Serve, exit: (code: number) => never): Promise<never> {
  let failed = report(runtime, await runChecks(coreChecks()))
  const kw = createKeyward({ prefix: 'bsk', usageFlushMs: false })
  const app = buildApp(kw)
  const fetchApp = buildFetchApp(kw)
  const server = await serve((request) =>
    new URL(request.url).pathname.startsWith(`${FETCH_BASE}/`) ? fetchApp(request) : app.fetch(request),
  )
  try {
    const base = `http://127.0.0.1:${server.port}`
    failed += report(`${runtime} http`, await runChecks(httpChecks(base)))
    failed += report(`${runtime} fetch`, await runChecks(httpChecks(`${base}${FETCH_BASE}`, 'fetch')))
  } finally {
    await server.stop()
  }
  return exit(failed === 0 ? 0 : 1)
}
