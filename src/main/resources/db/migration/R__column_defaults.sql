-- Column defaults that come from application.properties (ipo.job.max-attempts and
-- ipo.job.timeout-ms). Flyway runs this again whenever those values change.
ALTER TABLE ipo_flower
    ALTER COLUMN max_attempts SET DEFAULT ${max_attempts},
    ALTER COLUMN timeout_ms SET DEFAULT ${timeout_ms};
