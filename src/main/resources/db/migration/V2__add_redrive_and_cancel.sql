-- Runs a failed job again, with more attempts: SELECT ipo_redrive(42); or ipo_redrive(42, 3).
-- Attempts keep counting up, so the history in ipo_attempt stays whole. Returns false when the
-- job does not exist or has not failed. The input trigger rings the doorbell as for a new row.
CREATE FUNCTION ipo_redrive(job_id bigint, extra_attempts integer DEFAULT 1) RETURNS boolean
    LANGUAGE sql AS $$
    WITH redriven AS (
        UPDATE ipo_flower
           SET state = 'new',
               max_attempts = attempts + greatest(extra_attempts, 1),
               run_at = now(),
               updated_at = now()
         WHERE id = job_id
           AND state = 'failed'
        RETURNING id
    )
    SELECT count(*) = 1 FROM redriven
$$;

-- Cancels a job that has not started or is waiting for a retry: SELECT ipo_cancel(42);
-- Returns false when the job does not exist, is running or has ended.
CREATE FUNCTION ipo_cancel(job_id bigint) RETURNS boolean
    LANGUAGE sql AS $$
    WITH cancelled AS (
        UPDATE ipo_flower
           SET state = 'cancelled',
               updated_at = now()
         WHERE id = job_id
           AND state IN ('new', 'waiting')
        RETURNING id
    )
    SELECT count(*) = 1 FROM cancelled
$$;
