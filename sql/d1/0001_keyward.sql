-- keyward D1 0001: the tables D1TokenStore reads and writes. Idempotent: safe to run again.
-- Times are epoch milliseconds. Lists and metadata are JSON text. Revocation is soft.

CREATE TABLE IF NOT EXISTS keyward_keys (
  id              TEXT PRIMARY KEY,
  prefix          TEXT NOT NULL,
  environment     TEXT NOT NULL CHECK (environment IN ('live', 'test')),
  hash            TEXT NOT NULL,
  org_id          TEXT NOT NULL,
  name            TEXT NOT NULL,
  description     TEXT,
  projects        TEXT NOT NULL DEFAULT '[]' CHECK (json_type(projects) = 'array'),
  scopes          TEXT NOT NULL DEFAULT '[]' CHECK (json_type(scopes) = 'array'),
  allowed_origins TEXT NOT NULL DEFAULT '[]' CHECK (json_type(allowed_origins) = 'array'),
  allowed_ips     TEXT NOT NULL DEFAULT '[]' CHECK (json_type(allowed_ips) = 'array'),
  rate_limit      TEXT NOT NULL DEFAULT '[]' CHECK (json_type(rate_limit) = 'array'),
  metadata        TEXT NOT NULL DEFAULT '{}' CHECK (json_type(metadata) = 'object'),
  expires_at      INTEGER,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  last_used_at    INTEGER,
  revoked_at      INTEGER,
  rotated_from    TEXT,
  rotated_to      TEXT,
  version         INTEGER NOT NULL DEFAULT 0,
  root_id         TEXT
);

CREATE INDEX IF NOT EXISTS keyward_keys_org_id_idx ON keyward_keys (org_id, id);

CREATE TABLE IF NOT EXISTS keyward_refresh_families (
  id          TEXT PRIMARY KEY,
  subject     TEXT NOT NULL,
  org_id      TEXT NOT NULL,
  current_jti TEXT NOT NULL,
  expires_at  INTEGER NOT NULL,
  revoked_at  INTEGER,
  created_at  INTEGER NOT NULL
);

CREATE INDEX IF NOT EXISTS keyward_refresh_families_expires_idx ON keyward_refresh_families (expires_at);
