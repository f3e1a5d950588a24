-- Feature usage for recommendations: how often the caller used each feature
-- and the share of all users who used it, from the functions' own
-- `feature_used` analytics events (which users cannot read directly).

CREATE INDEX analytics_events_feature_idx ON public.analytics_events ((event_data ->> 'feature'))
  WHERE event_type = 'feature_used';

CREATE FUNCTION public.assistant_feature_usage()
RETURNS TABLE (feature text, own_count bigint, user_share double precision)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = '' AS $$
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
$$;
REVOKE ALL ON FUNCTION public.assistant_feature_usage() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.assistant_feature_usage() TO authenticated, service_role;
