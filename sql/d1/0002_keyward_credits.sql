-- keyward D1 0002: usage credits. Apply once, after 0001. credits holds a key's configured credits
-- as JSON { remaining, refill, epoch }, or NULL; the running balance lives in the rate limiter.

ALTER TABLE keyward_keys ADD COLUMN credits TEXT CHECK (credits IS NULL OR json_type(credits) = 'object');
