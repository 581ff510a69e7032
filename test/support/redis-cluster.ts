/**
 * A real local Redis Cluster (three masters, scripts/redis-cluster.sh) for the tests that prove
 * keyward on Cluster. Each test file that needs one starts its own on free ports and stops it
 * in afterAll. Locally a cluster that cannot start skips those tests loudly; in CI it fails them.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import Redis from 'ioredis'

const SCRIPT = fileURLToPath(new URL('../../scripts/redis-cluster.sh', import.meta.url))
const run = promisify(execFile)

export interface RedisClusterServer {
  /** The three masters, as ioredis's `Cluster` and node-redis's `createCluster` take them. */
  nodes: Array<{ host: string; port: number }>
  /** Why it could not start (then `nodes` is empty). */
  failure?: string
  /** An ioredis `Cluster` on it (the caller quits it). */
  connect(options?: ConstructorParameters<typeof Redis.Cluster>[1]): InstanceType<typeof Redis.Cluster>
  stop(): Promise<void>
}

/** Starts a three-master cluster; never throws (a failure is in `failure`). */
export async function startRedisCluster(): Promise<RedisClusterServer> {
  const dir = mkdtempSync(join(tmpdir(), 'kw-redis-cluster-'))
  const stop = async () => {
    await run('bash', [SCRIPT, 'stop', dir]).catch(() => {})
  }
  const connect = (options: ConstructorParameters<typeof Redis.Cluster>[1] = {}) => new Redis.Cluster(server.nodes, options)
  const server: RedisClusterServer = { nodes: [], connect, stop }
  try {
    const { stdout } = await run('bash', [SCRIPT, 'start', dir], { timeout: 60_000 })
    server.nodes = stdout
      .trim()
      .split(/\s+/)
      .map((port) => ({ host: '127.0.0.1', port: Number(port) }))
    if (server.nodes.length !== 3 || !server.nodes.every((n) => Number.isInteger(n.port))) throw new Error(`unexpected output: ${stdout}`)
  } catch (error) {
    server.failure = error instanceof Error ? error.message : String(error)
    server.nodes = []
    await stop()
  }
  return server
}

/** Deletes every key matching `pattern` on every master of the cluster. */
export async function deleteClusterKeys(cluster: InstanceType<typeof Redis.Cluster>, pattern: string): Promise<void> {
  for (const node of cluster.nodes('master')) {
    let cursor = '0'
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
      cursor = next
      // One DEL per key: a multi-key DEL must stay within one slot.
      for (const key of keys) await node.del(key)
    } while (cursor !== '0')
  }
}
