-- Cached insights as `json` instead of `jsonb`. An insight is written once
-- (serialised by the function) and read back whole on every hit, never
-- queried inside. jsonb parsed each stored answer into its binary tree
-- (sorting every object's keys) and re-printed it on every hit: storing a
-- 1,000-sample analysis (~100 kB) took ~3 ms of the server's CPU, over half
-- of the request's database time, and printing escaped every string again.
-- json validates the text and keeps it as written, so a hit returns it
-- verbatim. Clients reading the table still get JSON (supabase-js parses both).
ALTER TABLE public.assistant_insights ALTER COLUMN data TYPE json USING data::json;

-- The type change rewrites the column: keep LZ4 where the server has it.
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

-- The functions that take or return the column, with its new type.
DROP FUNCTION public.insight_cache_get(text, text, text);
CREATE FUNCTION public.insight_cache_get(p_insight_type text, p_context_id text, p_input_hash text)
RETURNS TABLE (data json, calculated_at text)
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

DROP FUNCTION public.insight_cache_put(text, text, text, jsonb, integer);
CREATE FUNCTION public.insight_cache_put(
  p_insight_type text, p_context_id text, p_input_hash text, p_data json, p_ttl_seconds integer)
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

REVOKE ALL ON FUNCTION public.insight_cache_get(text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION public.insight_cache_put(text, text, text, json, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.insight_cache_get(text, text, text) TO authenticated, service_role;
GRANT EXECUTE ON FUNCTION public.insight_cache_put(text, text, text, json, integer) TO authenticated, service_role;
