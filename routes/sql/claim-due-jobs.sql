-- Claims a page of due jobs for this daemon. SKIP LOCKED lets several daemons claim at once
-- without waiting on each other, and the state test in the outer WHERE makes every claim atomic:
-- a job is running for exactly one daemon or for none. The ids go through an array so that the
-- outer UPDATE looks each row up by its key instead of scanning the table.
UPDATE ipo_flower AS job
   SET state = 'running',
       attempts = job.attempts + 1,
       claimed_by = :#daemonId,
       lease_expires_at = now() + CAST(:#leaseMillis AS bigint) * INTERVAL '1 millisecond',
       updated_at = now()
 WHERE job.id = ANY (ARRAY (SELECT id
                              FROM ipo_flower
                             WHERE state IN ('new', 'waiting')
                               AND run_at <= now()
                             ORDER BY run_at, id
                             LIMIT :#limit
                               FOR UPDATE SKIP LOCKED))
   AND job.state IN ('new', 'waiting')
RETURNING job.id,
          job.url,
          upper(job.method) AS method,
          CAST(job.headers AS text) AS headers,
          job.data,
          job.timeout_ms,
          job.attempts,
          job.max_attempts
