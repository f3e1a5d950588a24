-- Seed 004 (FashionOS AI assistant): the assistant's four tables, their
-- indexes and row-level security, and the insight cache's functions.

-- Table 1: chat history; an immutable audit log.
CREATE TABLE public.assistant_conversations (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
  session_id uuid NOT NULL,
  message text NOT NULL,
  response jsonb NOT NULL DEFAULT '{}'::jsonb,
  kit_context text,
  page_route text,
  intent_detected text,
  skill_used text,
  response_time_ms integer CHECK (response_time_ms >= 0),
  helpful boolean,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX assistant_conversations_user_created_idx ON public.assistant_conversations (user_id, created_at);
CREATE INDEX assistant_conversations_session_idx ON public.assistant_conversations (session_id);
CREATE INDEX assistant_conversations_kit_idx ON public.assistant_conversations (kit_context);

ALTER TABLE public.assistant_conversations ENABLE ROW LEVEL SECURITY;
CREATE POLICY "users read their own conversations" ON public.assistant_conversations
  FOR SELECT TO authenticated USING (user_id = auth.uid());
CREATE POLICY "users insert their own conversations" ON public.assistant_conversations
  FOR INSERT TO authenticated WITH CHECK (user_id = auth.uid());
-- No UPDATE or DELETE policy: nobody but the service role changes history.
GRANT SELECT, INSERT ON public.assistant_conversations TO authenticated;
GRANT ALL ON public.assistant_conversations TO service_role;

-- Table 2: the insight cache. One row per user, insight type and context;
-- input_hash is the hash of the input the insight was computed from, so a
-- changed input misses the cache.
CREATE TABLE public.assistant_insights (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
  insight_type text NOT NULL,
  context_id text NOT NULL,
  input_hash text NOT NULL DEFAULT '',
  data jsonb NOT NULL,
  calculated_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  cache_hit_count integer NOT NULL DEFAULT 0,
  CONSTRAINT assistant_insights_key UNIQUE (user_id, insight_type, context_id)
);
CREATE INDEX assistant_insights_expires_idx ON public.assistant_insights (expires_at);

ALTER TABLE public.assistant_insights ENABLE ROW LEVEL SECURITY;
CREATE POLICY "users read their own insights" ON public.assistant_insights
  FOR SELECT TO authenticated USING (user_id = auth.uid());
-- Writes go through the SECURITY DEFINER functions below (the "system").
GRANT SELECT ON public.assistant_insights TO authenticated;
GRANT ALL ON public.assistant_insights TO service_role;

-- Table 3: per-user assistant preferences.
CREATE TABLE public.user_preferences (
  user_id uuid PRIMARY KEY REFERENCES auth.users (id) ON DELETE CASCADE,
  default_kit text,
  auto_suggestions_enabled boolean NOT NULL DEFAULT true,
  notification_preferences jsonb NOT NULL DEFAULT '{}'::jsonb,
  kit_order text[] NOT NULL DEFAULT '{}',
  favorite_actions text[] NOT NULL DEFAULT '{}',
  conversation_history_retention_days integer NOT NULL DEFAULT 90
    CHECK (conversation_history_retention_days BETWEEN 1 AND 3650),
  updated_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE public.user_preferences ENABLE ROW LEVEL SECURITY;
CREATE POLICY "users read their own preferences" ON public.user_preferences
  FOR SELECT TO authenticated USING (user_id = auth.uid());
CREATE POLICY "users create their own preferences" ON public.user_preferences
  FOR INSERT TO authenticated WITH CHECK (user_id = auth.uid());
CREATE POLICY "users update their own preferences" ON public.user_preferences
  FOR UPDATE TO authenticated USING (user_id = auth.uid()) WITH CHECK (user_id = auth.uid());
GRANT SELECT, INSERT, UPDATE ON public.user_preferences TO authenticated;
GRANT ALL ON public.user_preferences TO service_role;

-- Table 4: product analytics.
CREATE TABLE public.analytics_events (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
  event_type text NOT NULL,
  event_data jsonb NOT NULL DEFAULT '{}'::jsonb,
  page_route text,
  kit_context text,
  session_id uuid,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX analytics_events_type_created_idx ON public.analytics_events (event_type, created_at);
CREATE INDEX analytics_events_user_created_idx ON public.analytics_events (user_id, created_at);

ALTER TABLE public.analytics_events ENABLE ROW LEVEL SECURITY;
CREATE POLICY "users insert their own events" ON public.analytics_events
  FOR INSERT TO authenticated WITH CHECK (user_id = auth.uid());
-- Admins are users whose app metadata says so (set by the service role).
CREATE POLICY "admins read all events" ON public.analytics_events
  FOR SELECT TO authenticated USING ((auth.jwt() -> 'app_metadata' ->> 'role') = 'admin');
GRANT SELECT, INSERT ON public.analytics_events TO authenticated;
GRANT ALL ON public.analytics_events TO service_role;

-- The insight cache, for the caller (auth.uid()). SECURITY DEFINER makes these
-- the only write path into assistant_insights for users.

-- A fresh insight for this key and input, counting the hit; no row otherwise.
CREATE FUNCTION public.insight_cache_get(p_insight_type text, p_context_id text, p_input_hash text)
RETURNS TABLE (data jsonb, calculated_at text)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = '' AS $$
  UPDATE public.assistant_insights i
     SET cache_hit_count = i.cache_hit_count + 1
   WHERE i.user_id = auth.uid()
     AND i.insight_type = p_insight_type
     AND i.context_id = p_context_id
     AND i.input_hash = p_input_hash
     AND i.expires_at > now()
  RETURNING i.data, to_char(i.calculated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
$$;

-- Stores (or replaces) the caller's insight; returns its calculated_at.
CREATE FUNCTION public.insight_cache_put(
  p_insight_type text, p_context_id text, p_input_hash text, p_data jsonb, p_ttl_seconds integer)
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = '' AS $$
DECLARE
  v_user uuid := auth.uid();
  v_at timestamptz := clock_timestamp();
BEGIN
  IF v_user IS NULL THEN
    RAISE EXCEPTION 'the insight cache needs a signed-in user' USING ERRCODE = '42501';
  END IF;
  IF p_ttl_seconds IS NULL OR p_ttl_seconds <= 0 THEN
    RAISE EXCEPTION 'ttl must be positive' USING ERRCODE = '22023';
  END IF;
  INSERT INTO public.assistant_insights AS i
    (user_id, insight_type, context_id, input_hash, data, calculated_at, expires_at, cache_hit_count)
  VALUES
    (v_user, p_insight_type, p_context_id, p_input_hash, p_data, v_at,
     v_at + make_interval(secs => p_ttl_seconds), 0)
  ON CONFLICT (user_id, insight_type, context_id) DO UPDATE
    SET input_hash = excluded.input_hash,
        data = excluded.data,
        calculated_at = excluded.calculated_at,
        expires_at = excluded.expires_at,
        cache_hit_count = 0;
  RETURN to_char(v_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
END
$$;

-- Deletes expired insights; returns how many. Scheduled by the cron trigger.
CREATE FUNCTION public.purge_expired_insights()
RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = '' AS $$
  WITH gone AS (
    DELETE FROM public.assistant_insights WHERE expires_at <= now() RETURNING 1
  )
  SELECT count(*) FROM gone;
$$;

REVOKE ALL ON FUNCTION public.insight_cache_get(text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION public.insight_cache_put(text, text, text, jsonb, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION public.purge_expired_insights() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.insight_cache_get(text, text, text) TO authenticated, service_role;
GRANT EXECUTE ON FUNCTION public.insight_cache_put(text, text, text, jsonb, integer) TO authenticated, service_role;
GRANT EXECUTE ON FUNCTION public.purge_expired_insights() TO service_role;
