-- The functions every request calls, in PL/pgSQL instead of SQL. PostgreSQL
-- (before 18) parses and plans the body of a SQL function that cannot be
-- inlined (these are SECURITY DEFINER with their own search_path) on every
-- call; PL/pgSQL keeps each statement's plan for the life of the connection,
-- and the runtime's connections are pooled. Same signatures, same results.

CREATE OR REPLACE FUNCTION public.rate_limit_hit(p_user uuid, p_limit integer, p_window_seconds integer)
RETURNS TABLE (allowed boolean, remaining integer, retry_after_seconds integer)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = '' AS $$
#variable_conflict use_column
BEGIN
  RETURN QUERY
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
END
$$;

CREATE OR REPLACE FUNCTION public.insight_cache_get(p_insight_type text, p_context_id text, p_input_hash text)
RETURNS TABLE (data jsonb, calculated_at text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = '' AS $$
#variable_conflict use_column
BEGIN
  RETURN QUERY
  UPDATE public.assistant_insights i
     SET cache_hit_count = i.cache_hit_count + 1
   WHERE i.user_id = auth.uid()
     AND i.insight_type = p_insight_type
     AND i.context_id = p_context_id
     AND i.input_hash = p_input_hash
     AND i.expires_at > now()
  RETURNING i.data, to_char(i.calculated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
END
$$;

CREATE OR REPLACE FUNCTION public.assistant_feature_usage()
RETURNS TABLE (feature text, own_count bigint, user_share double precision)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = '' AS $$
#variable_conflict use_column
BEGIN
  RETURN QUERY
  WITH usage AS (
    SELECT e.event_data ->> 'feature' AS feature, e.user_id, count(*) AS n
      FROM public.analytics_events e
     WHERE e.event_type = 'feature_used' AND e.event_data ? 'feature'
     GROUP BY 1, 2
  ), everyone AS (
    SELECT greatest(count(DISTINCT user_id), 1) AS total FROM usage
  )
  SELECT u.feature,
         coalesce(sum(u.n) FILTER (WHERE u.user_id = auth.uid()), 0)::bigint,
         count(DISTINCT u.user_id)::double precision / (SELECT total FROM everyone)
    FROM usage u
   GROUP BY u.feature;
END
$$;
