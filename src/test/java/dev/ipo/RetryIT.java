package dev.ipo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ipo.support.Daemon;
import dev.ipo.support.Jobs;
import dev.ipo.support.OutputListener;
import dev.ipo.support.QueueTest;
import dev.ipo.support.TestDatabase;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Checks retries, backoff, Retry-After, deadlines, scheduling, cancel, redrive and the cap. */
class RetryIT extends QueueTest {

    private static final Duration WAIT = Duration.ofSeconds(20);

    private static Vertx flakyVertx;
    private static HttpServer flaky;
    private static final Map<String, AtomicInteger> CALLS = new ConcurrentHashMap<>();
    private static Daemon daemon;

    /**
     * {@code /flaky/{key}/{failures}/{status}} answers {@code status} to the first {@code failures}
     * calls for {@code key}, then 200; {@code ?retry-after=S} adds that header. {@code /trickle}
     * sends one byte every 100 ms and never ends.
     */
    @BeforeAll
    static void startServers() throws Exception {
        flakyVertx = Vertx.vertx();
        flaky =
                flakyVertx
                        .createHttpServer()
                        .requestHandler(
                                request -> {
                                    String[] parts = request.path().split("/");
                                    var response = request.response();
                                    if (parts[1].equals("trickle")) {
                                        response.setChunked(true).write("x");
                                        long timer =
                                                flakyVertx.setPeriodic(
                                                        100, id -> response.write("x"));
                                        request.connection()
                                                .closeHandler(
                                                        closed -> flakyVertx.cancelTimer(timer));
                                        return;
                                    }
                                    int calls =
                                            CALLS.computeIfAbsent(
                                                            parts[2], key -> new AtomicInteger())
                                                    .incrementAndGet();
                                    if (calls <= Integer.parseInt(parts[3])) {
                                        String retryAfter = request.getParam("retry-after");
                                        if (retryAfter != null) {
                                            response.putHeader("Retry-After", retryAfter);
                                        }
                                        response.setStatusCode(Integer.parseInt(parts[4]))
                                                .end("no");
                                    } else {
                                        response.end("yes");
                                    }
                                })
                        .listen(0, "127.0.0.1")
                        .toCompletionStage()
                        .toCompletableFuture()
                        .get(10, TimeUnit.SECONDS);
        daemon =
                Daemon.start(
                        Map.of(
                                "ipo.retry.base-delay-ms", "100",
                                "ipo.retry.max-delay-ms", "5000",
                                "ipo.sweep-interval-ms", "100"));
    }

    @AfterAll
    static void stopServers() {
        daemon.close();
        flakyVertx.close();
    }

    @Test
    void should_retry_and_then_succeed_when_server_answers_503_twice() throws Exception {
        long id = Jobs.insert(flakyUrl("twice-503", 2, 503), "GET", "", "{}", 5);

        Map<String, Object> row = Jobs.awaitEnded(id, WAIT);

        assertThat(row.get("state")).isEqualTo("done");
        assertThat(row.get("attempts")).isEqualTo(3);
        assertThat(row.get("error")).isEqualTo("");
        assertThat(attemptStatuses(id)).containsExactly(503, 503, 200);
    }

    @Test
    void should_fail_at_once_when_server_answers_404() throws Exception {
        long id = Jobs.insert(flakyUrl("once-404", 1, 404), "GET", "", "{}", 5);

        Map<String, Object> row = Jobs.awaitEnded(id, WAIT);

        assertThat(row.get("state")).isEqualTo("failed");
        assertThat(row.get("attempts")).isEqualTo(1);
        assertThat(row.get("status_code")).isEqualTo(404);
    }

    @Test
    void should_fail_with_the_last_answer_when_attempts_run_out() throws Exception {
        long id = Jobs.insert(flakyUrl("always-500", 99, 500), "GET", "", "{}", 3);

        Map<String, Object> row = Jobs.awaitEnded(id, WAIT);

        assertThat(row.get("state")).isEqualTo("failed");
        assertThat(row.get("attempts")).isEqualTo(3);
        assertThat(row.get("status_code")).isEqualTo(500);
        assertThat(new String((byte[]) row.get("response_body"))).isEqualTo("no");
        assertThat(attemptStatuses(id)).containsExactly(500, 500, 500);
    }

    @Test
    void should_retry_when_the_connection_is_refused() throws Exception {
        long id = Jobs.insert("http://127.0.0.1:1/", "GET", "", "{}", 2);

        Map<String, Object> row = Jobs.awaitEnded(id, WAIT);

        assertThat(row.get("state")).isEqualTo("failed");
        assertThat(row.get("attempts")).isEqualTo(2);
        assertThat(attemptStatuses(id)).containsExactly(0, 0);
    }

    @Test
    void should_wait_as_long_as_retry_after_says_when_server_answers_429() throws Exception {
        long id = Jobs.insert(flakyUrl("throttled", 1, 429) + "?retry-after=2", "GET", "", "{}", 3);

        Map<String, Object> row = Jobs.awaitEnded(id, WAIT);

        assertThat(row.get("state")).isEqualTo("done");
        List<Map<String, Object>> attempts = attempts(id);
        Instant firstFinished = instant(attempts.get(0).get("finished_at"));
        Instant secondStarted = instant(attempts.get(1).get("started_at"));
        // The base delay is 100 ms; only Retry-After explains a two-second pause.
        assertThat(Duration.between(firstFinished, secondStarted))
                .isGreaterThanOrEqualTo(Duration.ofMillis(1900));
    }

    @Test
    void should_cut_off_a_server_that_trickles_bytes_at_the_job_deadline() throws Exception {
        long id;
        try (var connection = TestDatabase.connect()) {
            var insert =
                    connection.prepareStatement(
                            "INSERT INTO ipo_flower (url, timeout_ms, max_attempts)"
                                    + " VALUES (?, 1000, 1) RETURNING id");
            insert.setString(1, "http://127.0.0.1:" + flaky.actualPort() + "/trickle");
            var ids = insert.executeQuery();
            ids.next();
            id = ids.getLong(1);
        }

        Map<String, Object> row = Jobs.awaitEnded(id, WAIT);

        assertThat(row.get("state")).isEqualTo("failed");
        assertThat((String) row.get("error"))
                .isEqualTo("timed out: no complete response within 1000 ms");
        Map<String, Object> attempt = attempts(id).get(0);
        Duration took =
                Duration.between(
                        instant(attempt.get("started_at")), instant(attempt.get("finished_at")));
        assertThat(took).isLessThan(Duration.ofSeconds(3));
    }

    @Test
    void should_not_call_a_scheduled_job_before_its_run_at() throws Exception {
        Jobs.execute(
                "INSERT INTO ipo_flower (url, run_at) VALUES ('"
                        + server.url("/status/200")
                        + "', now() + INTERVAL '1500 milliseconds')");
        long id = (Long) Jobs.query("SELECT id FROM ipo_flower").get(0).get("id");

        Map<String, Object> row = Jobs.awaitEnded(id, WAIT);

        assertThat(row.get("state")).isEqualTo("done");
        Map<String, Object> attempt = attempts(id).get(0);
        assertThat(instant(attempt.get("started_at"))).isAfterOrEqualTo(instant(row.get("run_at")));
    }

    @Test
    void should_never_call_a_cancelled_job_and_should_notify_its_end() throws Exception {
        try (OutputListener listener = new OutputListener()) {
            Jobs.execute(
                    "INSERT INTO ipo_flower (url, run_at) VALUES ('"
                            + server.url("/status/200")
                            + "', now() + INTERVAL '500 milliseconds')");
            long id = (Long) Jobs.query("SELECT id FROM ipo_flower").get(0).get("id");

            assertThat(Jobs.query("SELECT ipo_cancel(" + id + ") AS ok").get(0).get("ok"))
                    .isEqualTo(true);

            assertThat(listener.awaitPayloads(1, WAIT))
                    .containsExactly(
                            "{\"id\" : "
                                    + id
                                    + ", \"state\" : \"cancelled\", \"status_code\" : 0}");
            // Well past run_at and several sweeps, the server must still have seen nothing.
            Awaitility.await()
                    .during(Duration.ofMillis(1500))
                    .atMost(Duration.ofSeconds(5))
                    .until(() -> server.received().isEmpty());
            assertThat(Jobs.row(id).get("state")).isEqualTo("cancelled");
        }
    }

    @Test
    void should_run_a_failed_job_again_when_redriven() throws Exception {
        long id = Jobs.insert(flakyUrl("redrive", 1, 500), "GET", "", "{}", 1);
        assertThat(Jobs.awaitEnded(id, WAIT).get("state")).isEqualTo("failed");

        assertThat(Jobs.query("SELECT ipo_redrive(" + id + ") AS ok").get(0).get("ok"))
                .isEqualTo(true);
        Jobs.awaitAllEnded(WAIT);

        Map<String, Object> row = Jobs.row(id);
        assertThat(row.get("state")).isEqualTo("done");
        assertThat(row.get("attempts")).isEqualTo(2);
        assertThat(attemptStatuses(id)).containsExactly(500, 200);
    }

    @Test
    void should_keep_at_most_the_configured_jobs_in_flight() throws Exception {
        // The class's daemon hears no doorbell meanwhile, so the capped daemon runs every job.
        var routes = daemon.context().getRouteController();
        routes.stopRoute("input-check-listen-connection");
        routes.stopRoute("input-listen-new-jobs");
        routes.stopRoute("input-sweep-due-jobs");
        try (Daemon capped = Daemon.start(Map.of("ipo.max-in-flight", "10"))) {
            Jobs.execute(
                    "INSERT INTO ipo_flower (url) SELECT '"
                            + server.url("/delay/50")
                            + "?n=' || n FROM generate_series(1, 100) AS n");

            Jobs.awaitAllEnded(WAIT);
        } finally {
            routes.startRoute("input-sweep-due-jobs");
            routes.startRoute("input-listen-new-jobs");
            routes.startRoute("input-check-listen-connection");
        }

        assertThat(Jobs.count("state = 'done'")).isEqualTo(100);
        assertThat(server.mostInFlight()).isBetween(2, 10);
    }

    private String flakyUrl(String key, int failures, int status) {
        return "http://127.0.0.1:"
                + flaky.actualPort()
                + "/flaky/"
                + key
                + "/"
                + failures
                + "/"
                + status;
    }

    private static List<Map<String, Object>> attempts(long id) throws SQLException {
        return Jobs.query(
                "SELECT * FROM ipo_attempt WHERE flower_id = " + id + " ORDER BY attempt");
    }

    private static Instant instant(Object timestamp) {
        return ((Timestamp) timestamp).toInstant();
    }

    private static List<Integer> attemptStatuses(long id) throws SQLException {
        return attempts(id).stream().map(row -> (Integer) row.get("status_code")).toList();
    }
}
