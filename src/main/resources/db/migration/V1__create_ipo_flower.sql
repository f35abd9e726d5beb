-- One row per HTTP job: the request a user inserts, and the response IPO stores back.
-- Every column is NOT NULL with a default, so a reader never has to tell "unset" from "empty".
CREATE TABLE ipo_flower (
    id                 bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,

    -- the request, written by the user
    url                text        NOT NULL,
    method             text        NOT NULL DEFAULT 'GET',
    headers            jsonb       NOT NULL DEFAULT '{}',
    data               text        NOT NULL DEFAULT '',
    run_at             timestamptz NOT NULL DEFAULT now(),
    max_attempts       integer     NOT NULL DEFAULT 5,
    timeout_ms         integer     NOT NULL DEFAULT 30000,

    -- the job's progress, written by IPO
    state              text        NOT NULL DEFAULT 'new',
    attempts           integer     NOT NULL DEFAULT 0,
    claimed_by         text        NOT NULL DEFAULT '',
    lease_expires_at   timestamptz NOT NULL DEFAULT '-infinity',
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),

    -- the last answer, written by IPO; status_code 0 means no answer came
    status_code        integer     NOT NULL DEFAULT 0,
    response_headers   jsonb       NOT NULL DEFAULT '{}',
    response_body      bytea       NOT NULL DEFAULT '',
    response_size      bigint      NOT NULL DEFAULT 0,
    response_truncated boolean     NOT NULL DEFAULT false,
    error              text        NOT NULL DEFAULT '',

    CONSTRAINT url_is_http
        CHECK (url ~* '^https?://[^/?#[:space:]]+([/?#].*)?$'),
    CONSTRAINT method_is_known
        CHECK (upper(method) IN ('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS')),
    CONSTRAINT headers_are_string_pairs
        CHECK (jsonb_typeof(headers) = 'object'
               AND NOT jsonb_path_exists(headers, '$.* ? (@.type() != "string")')),
    CONSTRAINT state_is_known
        CHECK (state IN ('new', 'waiting', 'running', 'done', 'failed', 'cancelled')),
    CONSTRAINT attempts_not_negative CHECK (attempts >= 0),
    CONSTRAINT max_attempts_positive CHECK (max_attempts >= 1),
    CONSTRAINT timeout_ms_positive CHECK (timeout_ms > 0)
);

COMMENT ON TABLE ipo_flower IS
    'IPO jobs: insert url, method, headers and data; IPO stores the HTTP response in the row.';

-- Shaped like the claim query: due rows in live states, oldest first.
CREATE INDEX ipo_flower_run_at_id_idx ON ipo_flower (run_at, id)
    WHERE state IN ('new', 'waiting');

-- Lets the sweep find running jobs whose daemon stopped renewing their lease.
CREATE INDEX ipo_flower_lease_expires_at_idx ON ipo_flower (lease_expires_at)
    WHERE state = 'running';

-- One row per finished attempt, so users can see what each try of a job met.
CREATE TABLE ipo_attempt (
    flower_id   bigint      NOT NULL REFERENCES ipo_flower (id) ON DELETE CASCADE,
    attempt     integer     NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz NOT NULL,
    status_code integer     NOT NULL,
    error       text        NOT NULL,
    PRIMARY KEY (flower_id, attempt),
    CONSTRAINT attempt_positive CHECK (attempt >= 1),
    CONSTRAINT finished_after_started CHECK (finished_at >= started_at)
);

-- Rings the daemon's doorbell when a job becomes ready to claim: on insert and on redrive.
CREATE FUNCTION ipo_notify_input() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('ipo_input', NEW.id::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER ipo_flower_notify_input
    AFTER INSERT OR UPDATE OF state ON ipo_flower
    FOR EACH ROW WHEN (NEW.state = 'new')
    EXECUTE FUNCTION ipo_notify_input();

-- Tells listeners a job ended, in the same transaction that stores its result, so a NOTIFY
-- never arrives before its row can be read and is never lost once the row is stored.
CREATE FUNCTION ipo_notify_output() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('ipo_output', json_build_object(
        'id', NEW.id, 'state', NEW.state, 'status_code', NEW.status_code)::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER ipo_flower_notify_output
    AFTER UPDATE OF state ON ipo_flower
    FOR EACH ROW WHEN (NEW.state IN ('done', 'failed', 'cancelled')
                       AND OLD.state IS DISTINCT FROM NEW.state)
    EXECUTE FUNCTION ipo_notify_output();
