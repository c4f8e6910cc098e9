-- Per tenant: booking actions in the window [$1, $2) and today's gauges, through the
-- ops function (cross-tenant, counts only; see sql/schema/61-metrics).
SELECT tenant_id, slug, created::float8 AS created, confirmed::float8 AS confirmed,
       cancelled::float8 AS cancelled, expired::float8 AS expired, offers::float8 AS offers,
       holds_pending::float8 AS holds_pending, waitlist_waiting::float8 AS waitlist_waiting,
       booked_seconds_today::float8 AS booked_seconds_today,
       working_seconds_today::float8 AS working_seconds_today
  FROM ops.metric_tenant_activity($1::timestamptz, $2::timestamptz)
