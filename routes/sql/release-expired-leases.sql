-- Returns the jobs of daemons that died mid-attempt to the queue. The lost attempt counts, as
-- its request may have reached the server; a job with no attempts left ends failed. Rows
-- locked at this moment are being stored, so they are skipped rather than waited for.
UPDATE ipo_flower
   SET state = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'waiting' END,
       error = 'attempt ' || attempts || ' was lost: daemon ' || claimed_by
               || ' stopped renewing its lease',
       run_at = now(),
       lease_expires_at = '-infinity',
       updated_at = now()
 WHERE id IN (SELECT id
                FROM ipo_flower
               WHERE state = 'running'
                 AND lease_expires_at < now()
                 FOR UPDATE SKIP LOCKED)
