-- keyward 003: conditional lifecycle writes and one quota per rotation chain. Run after 001.
-- Idempotent: safe to run again. Every update bumps version; rotate, update and revoke write
-- only over the version they read. root_id is the first key of a rotation chain (NULL: the
-- row's own id). Existing rows get version 0 and no root, and keep working.

ALTER TABLE keyward_keys ADD COLUMN IF NOT EXISTS version bigint NOT NULL DEFAULT 0;

ALTER TABLE keyward_keys ADD COLUMN IF NOT EXISTS root_id text;
