-- The same computation as `seatmeter usage`, written as an analyst would in
-- DuckDB: meetings clipped to each 30-day window they overlap, +1/-1 events,
-- a running sum per host and window with -1 before +1 on equal times, and
-- the peak per host and window. Times are epoch microseconds.
-- Parameters (replaced by bench/measure.py): __LOG__, __OUT__, __ANCHOR__, __POLICY__.
SET threads = 2;
SET preserve_insertion_order = false;
COPY (
  WITH params AS (
    SELECT epoch_us(TIMESTAMPTZ '__ANCHOR__') AS p, 2592000000000::BIGINT AS w
  ),
  raw AS (
    SELECT host,
           epoch_us(CAST("start" AS TIMESTAMPTZ)) AS s,
           epoch_us(CAST("end" AS TIMESTAMPTZ)) AS e
    FROM read_csv('__LOG__', header = true, all_varchar = true)
    WHERE CAST(web_attendees AS BIGINT) > 0
       OR (__POLICY__ AND CAST(phone_attendees AS BIGINT) > 0)
  ),
  spans AS (
    SELECT host, s, e, k
    FROM raw, params,
         LATERAL generate_series(floor((s - p) / w)::BIGINT, floor((e - 1 - p) / w)::BIGINT) AS g(k)
  ),
  clipped AS (
    SELECT host, k, greatest(s, p + k * w) AS cs, least(e, p + (k + 1) * w) AS ce
    FROM spans, params
  ),
  events AS (
    SELECT host, k, cs AS t, 1 AS d FROM clipped
    UNION ALL
    SELECT host, k, ce AS t, -1 AS d FROM clipped
  ),
  running AS (
    SELECT host, k,
           sum(d) OVER (PARTITION BY host, k ORDER BY t, d ROWS UNBOUNDED PRECEDING) AS c
    FROM events
  ),
  peaks AS (
    SELECT host, k, max(c) AS licenses FROM running GROUP BY host, k
  )
  SELECT strftime(make_timestamp(p + k * w), '%Y-%m-%dT%H:%M:%SZ') AS window_start,
         strftime(make_timestamp(p + (k + 1) * w), '%Y-%m-%dT%H:%M:%SZ') AS window_end,
         host,
         licenses
  FROM peaks, params
  WHERE licenses > 0
  ORDER BY k, host
) TO '__OUT__' (HEADER, DELIMITER ',');
