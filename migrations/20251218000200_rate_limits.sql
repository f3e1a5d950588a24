-- Per-user rate limiting shared by every function and every replica: one row
-- per user holding the current window, updated by one statement per request.

CREATE TABLE public.rate_limits (
  user_id uuid PRIMARY KEY,
  window_started_at timestamptz NOT NULL,
  hits integer NOT NULL
);
-- Only the runtime's own connection (before it takes the caller's role) touches it.
ALTER TABLE public.rate_limits ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON public.rate_limits FROM anon, authenticated;
GRANT ALL ON public.rate_limits TO service_role;

-- Counts a request of p_user in a window of p_window_seconds that starts at
-- the user's first request; answers whether it is allowed (at most p_limit per
-- window), how many remain, and the seconds until the window ends.
CREATE FUNCTION public.rate_limit_hit(p_user uuid, p_limit integer, p_window_seconds integer)
RETURNS TABLE (allowed boolean, remaining integer, retry_after_seconds integer)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = '' AS $$
  INSERT INTO public.rate_limits AS r (user_id, window_started_at, hits)
  VALUES (p_user, clock_timestamp(), 1)
  ON CONFLICT (user_id) DO UPDATE SET
    hits = CASE WHEN r.window_started_at + make_interval(secs => p_window_seconds) > clock_timestamp()
                THEN r.hits + 1 ELSE 1 END,
    window_started_at = CASE WHEN r.window_started_at + make_interval(secs => p_window_seconds) > clock_timestamp()
                THEN r.window_started_at ELSE clock_timestamp() END
  RETURNING
    r.hits <= p_limit,
    greatest(p_limit - r.hits, 0),
    greatest(1, ceil(extract(epoch FROM r.window_started_at + make_interval(secs => p_window_seconds) - clock_timestamp())))::integer;
$$;
REVOKE ALL ON FUNCTION public.rate_limit_hit(uuid, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.rate_limit_hit(uuid, integer, integer) TO service_role;
