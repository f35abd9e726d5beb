-- Keeps this daemon's running jobs its own while their HTTP calls are in flight. SKIP LOCKED passes
-- over rows whose results are being stored at this moment: they are about to stop running, and
-- waiting for them could deadlock with a result batch that locks the same rows in another order.
UPDATE ipo_flower AS job
   SET lease_expires_at = now() + CAST(:#leaseMillis AS bigint) * INTERVAL '1 millisecond'
  FROM (SELECT id
          FROM ipo_flower
         WHERE state = 'running'
           AND claimed_by = :#daemonId
           FOR UPDATE SKIP LOCKED) AS mine
 WHERE job.id = mine.id
