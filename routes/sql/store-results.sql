-- Stores one attempt's result and records the attempt. The WHERE clause keeps a result whose
-- claim was lost (lease expired, job cancelled) from overwriting the job's newer state.
WITH stored AS (
    UPDATE ipo_flower
       SET state = :#state,
           status_code = :#statusCode,
           response_headers = CAST(:#responseHeaders AS jsonb),
           response_body = :#responseBody,
           response_size = :#responseSize,
           response_truncated = :#responseTruncated,
           error = :#error,
           run_at = CASE WHEN :#state = 'waiting'
                         THEN now() + :#retryDelayMillis * INTERVAL '1 millisecond'
                         ELSE run_at END,
           lease_expires_at = '-infinity',
           updated_at = now()
     WHERE id = :#id
       AND state = 'running'
       AND claimed_by = :#daemonId
       AND attempts = :#attempt
    RETURNING id, attempts, status_code, error
)
INSERT INTO ipo_attempt (flower_id, attempt, started_at, finished_at, status_code, error)
SELECT id, attempts, :#startedAt, now(), status_code, error
  FROM stored
