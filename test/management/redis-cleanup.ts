import type Redis from 'ioredis'

/** Deletes every key matching `pattern` (a test run's prefix followed by `*`), by SCAN, not KEYS. */
export async function deleteRedisKeys(client: Redis, pattern: string): Promise<void> {
  let cursor = '0'
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
    cursor = next
    if (keys.length > 0) await client.del(...keys)
  } while (cursor !== '0')
}
