-- Claims a page of due jobs for this daemon. FOR UPDATE SKIP LOCKED lets several daemons claim
-- at once without waiting on each other: it locks each row it returns, after checking that the
-- newest version of the row is still due, so a job is running for exactly one daemon or for none.
-- The ids go through an array so that the UPDATE looks each row up by its key instead of
-- scanning the table.
--
-- The claim commits without waiting for the disk (set_config with true applies to this
-- statement's own transaction). A claim lost in a database crash only makes its job due again,
-- which at-least-once delivery allows anyway; the result stored later flushes it with itself.
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
   AND set_config('synchronous_commit', 'off', true) IS NOT NULL
RETURNING job.id,
          job.url,
          upper(job.method) AS method,
          CAST(job.headers AS text) AS headers,
          job.data,
          job.timeout_ms,
          job.attempts,
          job.max_attempts
