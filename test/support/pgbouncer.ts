/**
 * A real transaction-mode PgBouncer in front of the test PostgreSQL (scripts/pgbouncer.sh), on a
 * free port, for the pooled-PostgreSQL tests. Locally a missing pgbouncer skips them loudly; in CI
 * it is a failure.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { POSTGRES } from './servers.js'

const run = promisify(execFile)
const SCRIPT = fileURLToPath(new URL('../../scripts/pgbouncer.sh', import.meta.url))

/** A running PgBouncer: where it listens, and how to stop it. */
export interface PgBouncer {
  port: number
  stop(): Promise<void>
}

/** Starts one; resolves undefined (with the reason) when pgbouncer is not installed or does not start. */
export async function startPgBouncer(): Promise<{ bouncer?: PgBouncer; reason?: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'kw-pgbouncer-'))
  try {
    const env = { ...process.env, KEYWARD_PG_HOST: POSTGRES.host, KEYWARD_PG_PORT: String(POSTGRES.port) }
    const { stdout } = await run(SCRIPT, ['start', dir], { env })
    const port = Number(stdout.trim())
    return {
      bouncer: {
        port,
        async stop() {
          await run(SCRIPT, ['stop', dir]).catch(() => {})
          rmSync(dir, { recursive: true, force: true })
        },
      },
    }
  } catch (error) {
    rmSync(dir, { recursive: true, force: true })
    return { reason: String((error as { stderr?: unknown }).stderr || error) }
  }
}
