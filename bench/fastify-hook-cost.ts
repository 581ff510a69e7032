/**
 * What keyward's Fastify hook costs over the hand-written floor, in instructions rather than wall
 * clock (which a shared machine spoils). Builds one of two Fastify apps as bench/http-server.ts
 * does (`keyward`: `authenticate(kw)` in the route's onRequest, in-memory store and limiter, a key
 * with a rate limit no run reaches; `floor`: the callback hook that reads the header, SHA-256s the
 * key, looks it up in a Map, checks expiry and scope, counts the call and sets the two RateLimit
 * headers), then sends a warm-up of W requests and N more through `app.inject()`, one after the
 * other, each checked for a 200.
 *
 *   npx tsx bench/fastify-hook-cost.ts <keyward|floor> [N] [W]     (N = 20000, W = 5000)
 *
 * Per request, under callgrind (the process's total instructions, start-up included, which cancels):
 *
 *   valgrind --tool=callgrind --callgrind-out-file=/dev/null node --import tsx bench/fastify-hook-cost.ts keyward 20000
 *   valgrind --tool=callgrind --callgrind-out-file=/dev/null node --import tsx bench/fastify-hook-cost.ts keyward 0
 *
 * per request = (total(N) − total(0)) / N, read from the "Collected" line; the same for `floor`,
 * and keyward − floor is the hook's overhead (inject's own cost is in both and cancels).
 * Mind the noise: a request costs about 400–500k instructions here (inject and GC dominate), and on
 * a loaded 2-core machine totals varied by hundreds of millions between runs of the same code
 * (V8's GC and JIT heuristics follow time), i.e. ±50k per request at N = 8,000–20,000, even with
 * `node --single-threaded` or `--predictable --predictable-gc-schedule`. Repeat each run, or
 * make N far larger, before trusting a difference of a few thousand.
 */
import Fastify from 'fastify'
import fastifyKeyward, { authenticate } from '../adapters/fastify.js'
import { benchKeyward, createFloor, fastifyFloorHook } from './floor.js'

const [guard = 'keyward', n = '20000', w = '5000'] = process.argv.slice(2)
if (guard !== 'keyward' && guard !== 'floor') throw new Error(`guard must be keyward or floor, not ${guard}`)

const { kw, key } = await benchKeyward()

const app = Fastify()
await app.register(fastifyKeyward)
app.decorateRequest('owner', undefined)
// The floor of bench/http-server.ts (bench/floor.ts), rate-limited key.
const floor = fastifyFloorHook(createFloor([key]), true)
app.get('/', { onRequest: guard === 'keyward' ? [authenticate(kw)] : [floor] }, (_request, reply) => {
  void reply.send('hello')
})
await app.ready()

const headers = { authorization: `Bearer ${key}` }
async function run(count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const response = await app.inject({ method: 'GET', url: '/', headers })
    if (response.statusCode !== 200 || response.headers.ratelimit === undefined) throw new Error(`${guard}: ${response.statusCode}`)
  }
}
await run(Number(w))
await run(Number(n))
await app.close()
