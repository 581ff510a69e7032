/**
 * `npm start`: the Express example on the in-memory defaults, with two fresh keys and curl lines
 * to paste, one per outcome. Each curl prints the body, then the status on its own last line.
 */
import { createKeyward } from 'keyward'
import { start } from './express-server.js'

const port = Number(process.env.PORT ?? 3000)
const kw = createKeyward({ prefix: 'bsk' })

let live: Awaited<ReturnType<typeof start>>
try {
  live = await start(port, kw)
} catch (error) {
  console.error(`Cannot listen on port ${port} (${(error as Error).message}). Try PORT=3001 npm start`)
  process.exit(1)
}
const base = live.url
// A browser key: only from example.com, and a quota small enough to see the 429 by hand.
const { key: restricted } = await kw.keys.create({
  name: 'Demo browser key',
  orgId: 'org_example',
  projects: ['prod-site'],
  scopes: ['write'],
  allowedOrigins: ['example.com'],
  rateLimit: { limit: 3, windowMs: 60_000 },
})

const show = `-s -w '\\n%{http_code}\\n'`
const track = `-X POST ${base}/api/track -H 'Content-Type: application/json' -d '{"projectId":"prod-site"}'`
const lines = [
  ['200', 'the live key reads its project', `curl ${show} ${base}/api/projects/prod-site/stats -H 'Authorization: Bearer ${live.key}'`],
  ['200', 'the live key tracks an event (project in the body)', `curl ${show} ${track} -H 'Authorization: Bearer ${live.key}'`],
  ['401', 'no key', `curl ${show} ${track}`],
  ['403', 'a project the key does not list', `curl ${show} ${base}/api/projects/other-site/stats -H 'X-API-Key: ${live.key}'`],
  [
    '403',
    'the restricted key from a domain it does not allow',
    `curl ${show} ${track} -H 'Authorization: Bearer ${restricted}' -H 'Origin: https://evil.example'`,
  ],
  [
    '200 200 200 429',
    'the restricted key from example.com, past its 3 calls a minute',
    `for i in 1 2 3 4; do curl -s -o /dev/null -w '%{http_code} ' ${track} -H 'Authorization: Bearer ` +
      `${restricted}' -H 'Origin: https://example.com'; done; echo`,
  ],
]

console.log(`keyward demo: the Express example on ${base} (in-memory store and limiter)

Live key (write, project prod-site):
  ${live.key}
Restricted key (write, project prod-site, origin example.com only, 3 calls a minute):
  ${restricted}

Paste these:
`)
for (const [expect, what, line] of lines) console.log(`# expect ${expect}: ${what}\n${line}\n`)
console.log('Ctrl-C to stop. The keys live in memory: a restart mints new ones.')

process.once('SIGINT', () => void live.close().then(() => process.exit(0)))
