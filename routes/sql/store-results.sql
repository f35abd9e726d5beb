-- Stores a batch of attempt results in one statement and records each attempt. The batch
-- arrives as one JSON array (response bodies in base64), which costs PostgreSQL one parse and
-- one plan for the whole batch instead of one per job. The WHERE clause keeps a result whose
-- claim was lost (lease expired, job cancelled) from overwriting the job's newer state.
WITH result AS (
    SELECT *
      FROM jsonb_to_recordset(CAST(:#results AS jsonb)) AS r (
               id bigint,
               attempt integer,
               daemon_id text,
               state text,
               status_code integer,
               response_headers jsonb,
               response_body text,
               response_size bigint,
               response_truncated boolean,
               error text,
               retry_delay_ms bigint,
               started_at_ms bigint)
),
stored AS (
    UPDATE ipo_flower AS job
       SET state = result.state,
           status_code = result.status_code,
           response_headers = result.response_headers,
           response_body = decode(result.response_body, 'base64'),
           response_size = result.response_size,
           response_truncated = result.response_truncated,
           error = result.error,
           run_at = CASE WHEN result.state = 'waiting'
                         THEN now() + result.retry_delay_ms * INTERVAL '1 millisecond'
                         ELSE job.run_at END,
           lease_expires_at = '-infinity',
           updated_at = now()
      FROM result
     WHERE job.id = result.id
       AND job.state = 'running'
       AND job.claimed_by = result.daemon_id
       AND job.attempts = result.attempt
    RETURNING job.id, job.attempts, job.status_code, job.error, result.started_at_ms
)
INSERT INTO ipo_attempt (flower_id, attempt, started_at, finished_at, status_code, error)
-- least(): a daemon whose clock runs ahead must not record an attempt that ends before it began
SELECT id, attempts, least(to_timestamp(started_at_ms / 1000.0), now()), now(), status_code, error
  FROM stored
