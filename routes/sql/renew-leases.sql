-- Keeps this daemon's running jobs its own while their HTTP calls are in flight.
UPDATE ipo_flower
   SET lease_expires_at = now() + CAST(:#leaseMillis AS bigint) * INTERVAL '1 millisecond'
 WHERE state = 'running'
   AND claimed_by = :#daemonId
