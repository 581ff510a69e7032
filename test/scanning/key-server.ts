/**
 * A local stand-in for a code host's signing side: P-256 key pairs made here, their public halves
 * served over real HTTP as `{ public_keys: [{ key_identifier, key, is_current }] }`, and deliveries
 * signed the way the host signs them (base64 DER ECDSA over the raw body).
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createSign, generateKeyPairSync, type KeyObject } from 'node:crypto'

export interface SigningKey {
  id: string
  privateKey: KeyObject
  publicPem: string
}

export function makeSigningKey(id: string): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  return { id, privateKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() }
}

export function sign(key: SigningKey, body: string): string {
  return createSign('SHA256').update(body).sign({ key: key.privateKey, dsaEncoding: 'der' }).toString('base64')
}

export interface KeyServer {
  url: string
  /** The keys served now; change it to rotate. */
  published: SigningKey[]
  /** How many times the list was fetched. */
  hits: number
  /** Answer this status instead of the list (e.g. 500) when set. */
  failWith: number | undefined
  close(): Promise<void>
}

export async function startKeyServer(published: SigningKey[]): Promise<KeyServer> {
  const state: KeyServer = { url: '', published, hits: 0, failWith: undefined, close: async () => {} }
  const server: Server = createServer((req, res) => {
    state.hits++
    if (state.failWith !== undefined) {
      res.writeHead(state.failWith).end()
      return
    }
    const body = JSON.stringify({
      public_keys: state.published.map((k, i) => ({ key_identifier: k.id, key: k.publicPem, is_current: i === 0 })),
    })
    res.writeHead(200, { 'content-type': 'application/json' }).end(body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/meta/public_keys/secret_scanning`
  state.close = () => new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())))
  return state
}
