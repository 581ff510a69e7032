/** Entry for Bun: `bun <bundle of this file>`. The checks and the app on `Bun.serve`. */
import { serveAndCheck } from './serve-and-check.js'

declare const Bun: {
  serve(options: { port: number; hostname: string; fetch: (request: Request) => Response | Promise<Response> }): {
    port: number
    stop(closeActive?: boolean): Promise<void> | void
  }
}
declare const process: { exit(code: number): never }

await serveAndCheck(
  'bun',
  async (fetch) => {
    const server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch })
    return { port: server.port, stop: async () => void (await server.stop(true)) }
  },
  (code) => process.exit(code),
)
