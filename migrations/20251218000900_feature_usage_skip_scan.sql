-- Recommendations' feature usage without reading every event.
--
-- assistant_feature_usage() grouped every `feature_used` event of every user
-- on each recommendations miss: its cost grew with all the events ever
-- recorded, and every cache hit of every function records one: one call
-- over 750,000 events of 1,000 users took 290 ms, and the benchmark's
-- recommendations misses (after its hit cells, ~70,000 events) answered
-- at p50 45 ms at c=1 and 836 ms at c=32. What it needs is small: the
-- distinct (feature, user) pairs, for each feature's share of users, and
-- the caller's own count per feature (now 40 ms, 4.4 ms and 31 ms).
--
-- The feature index now carries the user too, so the pairs are read by
-- walking it: one index probe per distinct pair (a skip scan, as a
-- recursive query), not one row per event; the caller's counts are read
-- from the same index, their own events only. It replaces the
-- feature-only index, which nothing else used, so an insert still
-- maintains as many indexes. Events without a feature (a JSON null) name
-- no feature and are left out, where the full grouping returned them as
-- a null feature the function could not read.

-- Building the index holds off inserts into analytics_events until it is
-- built, as a migration runs in a transaction. Where that table is large,
-- build it first with CREATE INDEX CONCURRENTLY (same name and definition);
-- this migration then keeps it.
DROP INDEX public.analytics_events_feature_idx;

CREATE INDEX IF NOT EXISTS analytics_events_feature_user_idx
  ON public.analytics_events ((event_data ->> 'feature'), user_id)
  WHERE event_type = 'feature_used';

CREATE OR REPLACE FUNCTION public.assistant_feature_usage()
RETURNS TABLE (feature text, own_count bigint, user_share double precision)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = '' AS $$
#variable_conflict use_column
BEGIN
  RETURN QUERY
  WITH RECURSIVE pairs (feature, user_id) AS (
    (SELECT e.event_data ->> 'feature', e.user_id
       FROM public.analytics_events e
      WHERE e.event_type = 'feature_used'
        AND (e.event_data ->> 'feature') IS NOT NULL
      ORDER BY 1, 2
      LIMIT 1)
    UNION ALL
    SELECT later.feature, later.user_id
      FROM pairs p
     CROSS JOIN LATERAL (
       SELECT e.event_data ->> 'feature' AS feature, e.user_id
         FROM public.analytics_events e
        WHERE e.event_type = 'feature_used'
          AND ((e.event_data ->> 'feature'), e.user_id) > (p.feature, p.user_id)
        ORDER BY 1, 2
        LIMIT 1) later
  ), features AS (
    SELECT p.feature, count(*) AS users FROM pairs p GROUP BY p.feature
  ), everyone AS (
    SELECT greatest(count(DISTINCT p.user_id), 1) AS total FROM pairs p
  )
  SELECT f.feature,
         (SELECT count(*)
            FROM public.analytics_events e
           WHERE e.event_type = 'feature_used'
             AND (e.event_data ->> 'feature') = f.feature
             AND e.user_id = auth.uid()),
         f.users::double precision / (SELECT total FROM everyone)
    FROM features f;
END
$$;
REVOKE ALL ON FUNCTION public.assistant_feature_usage() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.assistant_feature_usage() TO authenticated, service_role;
