-- Returns the jobs of daemons that died mid-attempt to the queue. The lost attempt counts, as
-- its request may have reached the server; a job with no attempts left ends failed. SKIP LOCKED
-- passes over rows whose results are being stored at this moment, as their daemon is alive, and
-- keeps this from deadlocking with a result batch that locks the same rows in another order.
UPDATE ipo_flower AS job
   SET state = CASE WHEN job.attempts >= job.max_attempts THEN 'failed' ELSE 'waiting' END,
       error = 'attempt ' || job.attempts || ' was lost: daemon ' || job.claimed_by
               || ' stopped renewing its lease',
       run_at = now(),
       lease_expires_at = '-infinity',
       updated_at = now()
  FROM (SELECT id
          FROM ipo_flower
         WHERE state = 'running'
           AND lease_expires_at < now()
           FOR UPDATE SKIP LOCKED) AS expired
 WHERE job.id = expired.id
