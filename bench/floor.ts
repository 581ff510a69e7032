/**
 * The hand-written floor of the HTTP benchmarks (bench/http-server.ts, bench/fastify-hook-cost.ts):
 * what a cached verify() must do, written directly: read the header, SHA-256 the key, look it up
 * in a Map, check expiry and scope; for a rate-limited key, count the call and build the two
 * RateLimit header values.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js'
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import { createKeyward, type Keyward } from '../src/index.js'

/** Who a key belongs to, with what the floor checks and counts. */
export interface Owner {
  org: string
  scopes: string[]
  expiresAt: number
  limit: number
  used: number
}

declare module 'fastify' {
  interface FastifyRequest {
    owner?: Owner
  }
}

/** The RateLimit-Policy value the floor sets (the keys' quota: 1e9 per hour). */
export const FLOOR_POLICY = '"default";q=1000000000;w=3600'

/** The floor's check and count, for the given keys (each with a quota no run reaches). */
export function createFloor(keys: readonly string[]): {
  owner: (authorization: string | undefined | null) => Owner | undefined
  rateLimit: (owner: Owner) => string
} {
  const owners = new Map<string, Owner>(
    keys.map((k) => [
      bytesToHex(sha256(utf8ToBytes(k))),
      { org: 'org_1', scopes: ['read'], expiresAt: Date.now() + 86_400_000, limit: 1_000_000_000, used: 0 },
    ]),
  )
  return {
    owner(authorization) {
      if (typeof authorization !== 'string' || !authorization.startsWith('Bearer ')) return undefined
      const owner = owners.get(bytesToHex(sha256(utf8ToBytes(authorization.slice(7)))))
      return owner !== undefined && owner.expiresAt > Date.now() && owner.scopes.includes('read') ? owner : undefined
    },
    rateLimit(owner) {
      owner.used++
      return `"default";r=${owner.limit - owner.used};t=3600`
    },
  }
}

/** The floor as a Fastify hook in callback style: synchronous work, no promise to settle. */
export function fastifyFloorHook(
  floor: ReturnType<typeof createFloor>,
  rateLimited: boolean,
): (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void {
  return (request, reply, done) => {
    const owner = floor.owner(request.headers.authorization)
    if (owner === undefined) {
      void reply.code(401).send()
      return
    }
    if (rateLimited) {
      void reply.header('ratelimit-policy', FLOOR_POLICY)
      void reply.header('ratelimit', floor.rateLimit(owner))
    }
    request.owner = owner
    done()
  }
}

/** keyward as the HTTP benchmarks run it (in-memory defaults), with the rate-limited key they present. */
export async function benchKeyward(): Promise<{ kw: Keyward; key: string }> {
  const kw = createKeyward({ prefix: 'bsk' })
  const { key } = await kw.keys.create({
    name: 'bench',
    orgId: 'org_1',
    projects: ['bench'],
    rateLimit: [{ limit: 1_000_000_000, windowMs: 3_600_000 }],
  })
  return { kw, key }
}
