// A next()/done() that throws after keyward's decision came asynchronously: in a connect-style host
// that does not catch its handlers' throws (Polka 0.5 runs the next handler inside next(), with no
// try/catch), the throw used to reject a promise nobody handled, and Node ends the process on an
// unhandled rejection: one request could take the server down. It now reaches the framework's
// error path once (next(err), done(err)); a throw from that error path too is dropped.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Request, RequestHandler } from 'express'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { authenticate as expressAuthenticate, requireProject as expressRequireProject } from '../../adapters/express.js'
import { authenticate as fastifyAuthenticate, requireProject as fastifyRequireProject } from '../../adapters/fastify.js'
import { listen, setup } from './support.js'

type Handler = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void

/**
 * The smallest connect-style host: a list of handlers, `next()` runs the next one synchronously
 * and catches nothing, `next(error)` goes to `onError`.
 */
function connectStyleHost(handlers: readonly Handler[], onError: (error: unknown, res: ServerResponse) => void) {
  return createServer((req, res) => {
    let i = 0
    const next = (error?: unknown): void => {
      if (error !== undefined) return onError(error, res)
      const handler = handlers[i++]
      if (handler === undefined) {
        res.statusCode = 404
        res.end()
        return
      }
      handler(req, res, next)
    }
    next()
  })
}

const asHandler = (middleware: RequestHandler) => middleware as unknown as Handler

const unhandled: unknown[] = []
let sawUnhandled: () => void = () => {}
let unhandledSeen = new Promise<void>((resolve) => (sawUnhandled = resolve))
const onUnhandled = (reason: unknown) => {
  unhandled.push(reason)
  sawUnhandled()
}
beforeAll(() => void process.on('unhandledRejection', onUnhandled))
afterAll(() => void process.off('unhandledRejection', onUnhandled))

/** A few turns of the event loop: long enough for Node to report a rejection nobody handled. */
async function turns(n = 10): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve))
}

/** The response's status, or what went wrong first: an unhandled rejection (the defect) leaves the request unanswered. */
function statusOrUnhandled(response: Promise<Response>): Promise<number | string> {
  return Promise.race([response.then((r) => r.status), unhandledSeen.then(() => 'unhandled rejection')])
}

describe('a next() that throws after an asynchronous decision (connect-style host)', () => {
  const cases: Array<[string, () => ReturnType<typeof setup>, (kw: ReturnType<typeof setup>['kw']) => Handler[]]> = [
    // A hook on onEvent makes every verify() asynchronous.
    ['authenticate(), onEvent set', () => setup({ onEvent: () => {} }), (kw) => [asHandler(expressAuthenticate(kw))]],
    // A key not yet cached is looked up in the store: asynchronous.
    ['authenticate(), a store miss', () => setup({ cache: false }), (kw) => [asHandler(expressAuthenticate(kw))]],
    [
      'requireProject()',
      () => setup(),
      (kw) => [
        asHandler(expressAuthenticate(kw)),
        asHandler(expressRequireProject((req: Request) => Promise.resolve(req.headers['x-project']))),
      ],
    ],
  ]
  for (const [name, make, chain] of cases) {
    it(`${name}: the throw reaches the error path once, the handler ran once, no unhandled rejection`, async () => {
      unhandled.length = 0
      unhandledSeen = new Promise<void>((resolve) => (sawUnhandled = resolve))
      const { kw, mint } = make()
      const key = await mint()
      const boom = new Error('handler bug')
      let ran = 0
      const errors: unknown[] = []
      const server = connectStyleHost(
        [
          ...chain(kw),
          () => {
            ran++
            throw boom
          },
        ],
        (error, res) => {
          errors.push(error)
          res.statusCode = 500
          res.end()
        },
      )
      const { url, close } = await listen(server)
      try {
        const status = await statusOrUnhandled(fetch(`${url}/`, { headers: { 'x-api-key': key, 'x-project': 'prod-site' } }))
        expect(status).toBe(500)
        await turns()
        expect(errors).toEqual([boom])
        expect(ran).toBe(1)
        expect(unhandled).toEqual([])
      } finally {
        await close()
      }
    })
  }

  it('when the error path throws too, it is called once and the throw is dropped with a warning: no unhandled rejection', async () => {
    // A logger that throws too (review r-k): still no unhandled rejection.
    const warn = vi.spyOn(console, 'error').mockImplementation(() => {
      throw new Error('logger down')
    })
    unhandled.length = 0
    unhandledSeen = new Promise<void>((resolve) => (sawUnhandled = resolve))
    const { kw, mint } = setup({ onEvent: () => {} })
    const key = await mint()
    const errors: unknown[] = []
    let reached!: () => void
    const failed = new Promise<void>((resolve) => (reached = resolve))
    const server = connectStyleHost(
      [
        asHandler(expressAuthenticate(kw)),
        () => {
          throw new Error('handler bug')
        },
      ],
      (error, res) => {
        errors.push(error)
        reached()
        res.destroy()
        throw new Error('error handler bug too')
      },
    )
    const { url, close } = await listen(server)
    const answered = fetch(`${url}/`, { headers: { 'x-api-key': key } }).catch(() => 'no answer')
    try {
      await Promise.race([failed, unhandledSeen])
      await turns()
      expect(unhandled).toEqual([])
      expect(errors).toHaveLength(1)
      expect(warn.mock.calls.map((call) => String(call[0]))).toEqual([expect.stringMatching(/error path threw/)])
      expect(JSON.stringify(warn.mock.calls)).not.toContain(key)
    } finally {
      warn.mockRestore()
      await close()
      await answered
    }
  })
})

describe('a done() that throws after an asynchronous decision (Fastify hooks called by hand)', () => {
  /** The parts of a Fastify request and reply the hooks read, for a direct call. */
  function fakes(key: string) {
    const raw = {
      method: 'GET',
      url: '/',
      headers: { 'x-api-key': key },
      rawHeaders: ['x-api-key', key],
      socket: { remoteAddress: '127.0.0.1' },
    }
    const request = { raw, method: 'GET', url: '/', headers: raw.headers, params: {} } as unknown as FastifyRequest
    const reply = {
      sent: false,
      headers() {
        return reply
      },
      code() {
        return reply
      },
      send() {
        return reply
      },
    } as unknown as FastifyReply
    return { request, reply }
  }

  it('authenticate() and requireProject(): the throw goes to done(err), once; a second throw is dropped', async () => {
    unhandled.length = 0
    unhandledSeen = new Promise<void>((resolve) => (sawUnhandled = resolve))
    const { kw, mint } = setup({ onEvent: () => {} })
    const key = await mint()
    const boom = new Error('the rest of the chain threw')
    const hooks = [fastifyAuthenticate(kw), fastifyRequireProject(() => Promise.resolve('prod-site'))]
    for (const hook of hooks) {
      for (const errorPathThrows of [false, true]) {
        const { request, reply } = fakes(key)
        // requireProject reads the auth authenticate() landed.
        if (hook === hooks[1]) await new Promise<void>((resolve) => hooks[0]!(request, reply, () => resolve()))
        const calls: unknown[][] = []
        const secondCall = new Promise<void>((resolve) => {
          hook(request, reply, (...args: unknown[]) => {
            calls.push(args)
            if (calls.length === 1) throw boom
            resolve()
            if (errorPathThrows) throw new Error('the error path threw too')
          })
        })
        await Promise.race([secondCall, unhandledSeen])
        await turns()
        expect(unhandled).toEqual([])
        expect(calls).toEqual([[], [boom]])
      }
    }
    expect(unhandled).toEqual([])
  })
})
