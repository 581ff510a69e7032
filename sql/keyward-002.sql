-- keyward 002: refresh-token families (one row per login session) for JWT refresh rotation.
-- Idempotent: safe to run again. Times are epoch milliseconds (bigint). A family at or past
-- expires_at is dead; the index lets a periodic DELETE ... WHERE expires_at <= now purge them.

CREATE TABLE IF NOT EXISTS keyward_refresh_families (
  id          text COLLATE "C" PRIMARY KEY,
  subject     text NOT NULL,
  org_id      text NOT NULL,
  current_jti text COLLATE "C" NOT NULL,
  expires_at  bigint NOT NULL,
  revoked_at  bigint,
  created_at  bigint NOT NULL
);

CREATE INDEX IF NOT EXISTS keyward_refresh_families_expires_idx ON keyward_refresh_families (expires_at);
