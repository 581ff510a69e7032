-- keyward 004: usage credits. Run after 003. Idempotent: safe to run again. credits holds a
-- key's configured credits as JSON { remaining, refill, epoch }, or NULL for a key without;
-- the running balance lives in the rate limiter. Existing rows get NULL and keep working.

ALTER TABLE keyward_keys ADD COLUMN IF NOT EXISTS credits jsonb CHECK (credits IS NULL OR jsonb_typeof(credits) = 'object');
