-- Returns the jobs this daemon still holds when it stops, once the grace period for jobs in
-- flight is over, so that another daemon runs them without waiting for their leases to expire.
-- The unfinished attempt does not count: the daemon stopped, not the job's server. Its request may
-- have reached the server, so the next attempt may repeat it.
-- Run with plain JDBC after Camel has stopped routing, hence ? for the daemon id.
UPDATE ipo_flower
   SET state = 'waiting',
       attempts = attempts - 1,
       claimed_by = '',
       run_at = now(),
       lease_expires_at = '-infinity',
       updated_at = now()
 WHERE state = 'running'
   AND claimed_by = ?
