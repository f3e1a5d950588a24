-- A cached insight in one statement: the request is counted against its
-- user's rate limit, the use of the feature is recorded and a fresh insight
-- is read (counting the hit), in one round trip and one implicit transaction.
-- Before, a hit took four round trips and six statements (the rate limit;
-- BEGIN with the claims; the usage event with the lookup; COMMIT), and
-- PostgreSQL spent more CPU on that frame than on the lookup.
--
-- Only the runtime's login role may call it (before a request's role is set), passing
-- the user the verified token names, as it does to rate_limit_hit; every read
-- and write is scoped to that user.
-- Usage events, hit counts and rate-limit counters are telemetry and derived
-- data: the transaction commits without waiting for the WAL flush
-- (set_config(.., true) inside the function holds until its commit).
-- A refused request gets allowed = false and its retry delay, nothing else.
CREATE FUNCTION public.insight_cache_lookup(
  p_user uuid,
  p_limit integer,
  p_window_seconds integer,
  p_insight_type text,
  p_kit text,
  p_context_id text,
  p_input_hash text)
RETURNS TABLE (allowed boolean, retry_after_seconds integer, data text, calculated_at text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = '' AS $$
#variable_conflict use_column
DECLARE
  v_allowed boolean;
  v_retry integer;
BEGIN
  SELECT r.allowed, r.retry_after_seconds INTO v_allowed, v_retry
    FROM public.rate_limit_hit(p_user, p_limit, p_window_seconds) r;
  IF NOT v_allowed THEN
    RETURN QUERY SELECT false, v_retry, NULL::text, NULL::text;
    RETURN;
  END IF;
  PERFORM set_config('synchronous_commit', 'off', true);
  INSERT INTO public.analytics_events (user_id, event_type, event_data, kit_context)
  VALUES (p_user, 'feature_used', jsonb_build_object('feature', p_insight_type), p_kit);
  RETURN QUERY
  UPDATE public.assistant_insights i
     SET cache_hit_count = i.cache_hit_count + 1
   WHERE i.user_id = p_user
     AND i.insight_type = p_insight_type
     AND i.context_id = p_context_id
     AND i.input_hash = p_input_hash
     AND i.expires_at > now()
  RETURNING true, 0, i.data::text,
            to_char(i.calculated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
  IF NOT FOUND THEN
    -- A miss: counted and recorded, no insight.
    RETURN QUERY SELECT true, 0, NULL::text, NULL::text;
  END IF;
END
$$;

REVOKE ALL ON FUNCTION public.insight_cache_lookup(uuid, integer, integer, text, text, text, text) FROM PUBLIC;
