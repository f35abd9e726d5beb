-- Keeps this daemon's running jobs its own while their HTTP calls are in flight. Rows locked
-- at this moment are being stored and need no renewal; skipping them avoids deadlocks.
UPDATE ipo_flower
   SET lease_expires_at = now() + CAST(:#leaseMillis AS bigint) * INTERVAL '1 millisecond'
 WHERE id IN (SELECT id
                FROM ipo_flower
               WHERE state = 'running'
                 AND claimed_by = :#daemonId
                 FOR UPDATE SKIP LOCKED)
