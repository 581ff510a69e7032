-- keyward 001: the table PostgresTokenStore reads and writes. Idempotent: safe to run again.
-- Times are epoch milliseconds (bigint). Revocation is soft: revoked_at is set, the row is kept.
-- id is COLLATE "C" so that listing order and keyset pagination follow byte order.

CREATE TABLE IF NOT EXISTS keyward_keys (
  id              text COLLATE "C" PRIMARY KEY,
  prefix          text NOT NULL,
  environment     text NOT NULL CHECK (environment IN ('live', 'test')),
  hash            text NOT NULL,
  org_id          text NOT NULL,
  name            text NOT NULL,
  description     text,
  projects        text[] NOT NULL DEFAULT '{}',
  scopes          text[] NOT NULL DEFAULT '{}',
  allowed_origins text[] NOT NULL DEFAULT '{}',
  allowed_ips     text[] NOT NULL DEFAULT '{}',
  rate_limit      jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(rate_limit) = 'array'),
  metadata        jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
  expires_at      bigint,
  created_at      bigint NOT NULL,
  updated_at      bigint NOT NULL,
  last_used_at    bigint,
  revoked_at      bigint,
  rotated_from    text,
  rotated_to      text
);

CREATE INDEX IF NOT EXISTS keyward_keys_org_id_idx ON keyward_keys (org_id, id);
