-- Two writes every request makes, made cheaper.

-- Rate-limit windows last a minute and are worth nothing after a crash: keep
-- them out of the write-ahead log, so counting a request writes nothing to
-- disk. After a crash PostgreSQL empties an unlogged table, and every user
-- starts a fresh window.
ALTER TABLE public.rate_limits SET UNLOGGED;

-- Cached insights can be large (a 1,000-sample analysis is ~100 kB of JSON):
-- LZ4 compresses them several times faster than the default pglz. Servers
-- built without LZ4 keep the default.
DO $$
BEGIN
  IF EXISTS (
    SELECT FROM pg_settings
     WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)
  ) THEN
    ALTER TABLE public.assistant_insights ALTER COLUMN data SET COMPRESSION lz4;
  END IF;
END
$$;
