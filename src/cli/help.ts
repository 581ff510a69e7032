/** The `--help` texts, one per command. */

const STORE = `Store (one of; a flag wins over the environment, and with both DATABASE_URL and
REDIS_URL set and no flag the command refuses to guess):
  --database-url URL    PostgreSQL (or DATABASE_URL); the table is created when missing
  --schema NAME         PostgreSQL schema of the table, a lowercase SQL identifier (default: the search_path)
  --redis-url URL       Redis (or REDIS_URL)
  --redis-prefix TEXT   prefix of the Redis keys, without { or } (default kw:, as RedisTokenStore)
Keys:
  --prefix PREFIX       the key prefix your server issues (or KEYWARD_PREFIX), e.g. bsk
  --env live|test       the environment (or KEYWARD_ENV; default live)
  KEYWARD_PEPPER        environment only: the pepper your server hashes keys with, if any
Output:
  --json                machine-readable output on stdout
  --help                this text`

const EXITS = `Exit codes: 0 done, 1 usage error, 2 invalid input or no such key, 3 store unavailable.`

/**
 * Help for `keyward`, `keyward keys` or one of its commands.
 *
 * @example
 * ```ts
 * process.stdout.write(helpText('create'))
 * ```
 */
export function helpText(command?: string): string {
  switch (command) {
    case 'create':
      return `Usage: keyward keys create --name NAME --org ORG --project ID [options]

Creates a key and prints it once: keyward keeps only its hash.
  --name NAME           1-100 characters (required)
  --org ORG             the organization the key belongs to (required)
  --project ID          a project the key may act on; repeat for several (required)
  --scope SCOPE         repeatable; default read (read < write < admin)
  --origin HOST         allowed browser origin; repeatable
  --ip ADDRESS|CIDR     allowed client address or network; repeatable
  --rate N/UNIT         quota, e.g. 5000/h or 100/10m (s, m, h, d), GCRA; 3/h:fixed-window or
                        3/h:sliding-window for the window algorithms; repeatable; shown back as given
  --expires WHEN        30d, 12h, ... from now, or an ISO date (2027-01-01)
  --description TEXT    at most 500 characters
  --credits N           usage credits the key starts with (each request spends its cost, default 1)
  --refill N/UNIT       with --credits: every period (s, m, h, d; aligned to UTC) the balance is set to N

${STORE}

${EXITS}
`
    case 'list':
      return `Usage: keyward keys list --org ORG [--limit N] [--after ID] [--include-revoked]

Lists an organization's keys (never a secret), by id.
  --org ORG             required
  --limit N             at most N keys (1-1000; default all)
  --after ID            keys after this id (pagination)
  --include-revoked     also revoked keys

${STORE}

${EXITS}
`
    case 'update':
      return `Usage: keyward keys update ID (--credits N [--refill N/UNIT | --no-refill] | --no-credits)

Sets a key's usage credits. The new balance replaces the running one at the next request.
  --credits N           the balance to set
  --refill N/UNIT       every period (s, m, h, d; aligned to UTC) the balance is set to N
                        (without --refill or --no-refill, the key's refill stays as it is)
  --no-refill           no refill
  --no-credits          remove the key's credits: it spends none
A top-up that adds to the running balance (never losing a concurrent spend) goes through the
app's limiter: kw.keys.update(id, { credits: { add } }) or PATCH /keys/ID, not this command.

${STORE}

${EXITS}
`
    case 'show':
      return `Usage: keyward keys show ID

Shows one key (never its secret). Credits show the balance last set: the running balance
lives in the app's limiter.

${STORE}

${EXITS}
`
    case 'rotate':
      return `Usage: keyward keys rotate ID [--grace 24h]

Replaces a key by a new one with the same settings, printed once.
  --grace DURATION      how long the old key keeps working (s, m, h, d; at most 30d). Default 0

${STORE}

${EXITS}
`
    case 'revoke':
      return `Usage: keyward keys revoke ID [--successors]

Revokes a key: refused from the very next request. Idempotent.

  --successors          also revoke every key rotated from it, to the end of the chain
                        (a stolen key that was rotated by the thief)

${STORE}

${EXITS}
`
    default:
      return `Usage: keyward keys <command> [options]

Commands:
  create    create a key (printed once)
  list      list an organization's keys
  show      show one key
  update    set or remove a key's usage credits
  rotate    replace a key, with an optional grace period
  revoke    revoke a key

Run keyward keys <command> --help for a command's options; keyward --version prints the version.

${STORE}

${EXITS}
`
  }
}
