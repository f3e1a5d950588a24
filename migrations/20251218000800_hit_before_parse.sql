-- A cache hit found by the request body's hash, before the body is parsed.
--
-- A cached insight's key (its insight_type and context_id) is read from the
-- body, so insight_cache_lookup could only run after the function had parsed
-- and validated the body: half of a hit's time in the function. The body's
-- hash alone finds the row (type and context are functions of the body), and
-- a body that hits was parsed and validated when its insight was stored, by
-- the same user. So a hit now skips the parse; a miss parses, validates and
-- computes as before, and records the use of the feature with the store, in
-- the same transaction: a request whose body is invalid, or whose computation
-- fails, records no use (before, a miss's use was committed with the lookup).
--
-- Same caller and scoping as insight_cache_lookup (which stays, for replicas
-- still running the previous components during a rolling upgrade): only the
-- runtime's login role may call it, passing the user the verified token
-- names, and every read and write is scoped to that user.

CREATE INDEX assistant_insights_input_idx
  ON public.assistant_insights (user_id, input_hash);

-- p_family is the insight_type prefix of the function's family ('logistics',
-- 'event', 'media', 'recommendations'); p_kit the kit of its usage event.
-- On a hit, the row's insight_type is the feature recorded as used.
CREATE FUNCTION public.insight_cache_find(
  p_user uuid,
  p_limit integer,
  p_window_seconds integer,
  p_family text,
  p_kit text,
  p_input_hash text)
RETURNS TABLE (allowed boolean, retry_after_seconds integer, data text, calculated_at text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = '' AS $$
#variable_conflict use_column
DECLARE
  v_allowed boolean;
  v_retry integer;
  v_type text;
  v_data text;
  v_at text;
BEGIN
  SELECT r.allowed, r.retry_after_seconds INTO v_allowed, v_retry
    FROM public.rate_limit_hit(p_user, p_limit, p_window_seconds) r;
  IF NOT v_allowed THEN
    RETURN QUERY SELECT false, v_retry, NULL::text, NULL::text;
    RETURN;
  END IF;
  PERFORM set_config('synchronous_commit', 'off', true);
  -- The newest matching row: two can match only if a release changed which
  -- insight a body maps to, and then the newer one is the current mapping.
  UPDATE public.assistant_insights i
     SET cache_hit_count = i.cache_hit_count + 1
    FROM (SELECT f.insight_type, f.context_id
            FROM public.assistant_insights f
           WHERE f.user_id = p_user
             AND f.input_hash = p_input_hash
             AND starts_with(f.insight_type, p_family || '_')
             AND f.expires_at > now()
           ORDER BY f.calculated_at DESC
           LIMIT 1) latest
   WHERE i.user_id = p_user
     AND i.insight_type = latest.insight_type
     AND i.context_id = latest.context_id
     AND i.input_hash = p_input_hash
     AND i.expires_at > now()
  RETURNING i.insight_type, i.data::text,
            to_char(i.calculated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
       INTO v_type, v_data, v_at;
  IF FOUND THEN
    INSERT INTO public.analytics_events (user_id, event_type, event_data, kit_context)
    VALUES (p_user, 'feature_used', jsonb_build_object('feature', v_type), p_kit);
  END IF;
  RETURN QUERY SELECT true, 0, v_data, v_at;
END
$$;

REVOKE ALL ON FUNCTION public.insight_cache_find(uuid, integer, integer, text, text, text) FROM PUBLIC;
