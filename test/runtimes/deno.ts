/** Entry for Deno: `deno run --allow-net <bundle of this file>`. The checks and the app on `Deno.serve`. */
import { serveAndCheck } from './serve-and-check.js'

declare const Deno: {
  serve(
    options: { port: number; hostname: string; onListen?: (address: { port: number }) => void },
    handler: (request: Request) => Response | Promise<Response>,
  ): { finished: Promise<void>; shutdown(): Promise<void> }
  exit(code: number): never
}

await serveAndCheck(
  'deno',
  (fetch) =>
    new Promise((resolve) => {
      const server = Deno.serve(
        { port: 0, hostname: '127.0.0.1', onListen: ({ port }) => resolve({ port, stop: () => server.shutdown() }) },
        fetch,
      )
    }),
  (code) => Deno.exit(code),
)
