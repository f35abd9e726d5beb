package dev.ipo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ipo.support.Daemon;
import dev.ipo.support.Jobs;
import dev.ipo.support.QueueTest;
import dev.ipo.support.TestDatabase;
import dev.ipo.support.TestHttpServer.Received;
import java.time.Duration;
import java.util.Map;
import java.util.stream.Collectors;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Checks that a daemon rides out PostgreSQL restarts and outages and hears NOTIFYs again. */
class DatabaseOutageIT extends QueueTest {

    /** A sweep too slow to matter, so that a job done within seconds proves LISTEN works. */
    private static final Map<String, String> SLOW_SWEEP = Map.of("ipo.sweep-interval-ms", "60000");

    private static final Duration LISTEN_DEADLINE = Duration.ofSeconds(10);

    @AfterEach
    void leaveDatabaseRunning() {
        TestDatabase.start();
    }

    @ParameterizedTest
    @ValueSource(strings = {"fast", "immediate"})
    void should_end_every_job_and_listen_again_when_postgresql_restarts(String mode)
            throws Exception {
        try (Daemon daemon = Daemon.start(SLOW_SWEEP)) {
            insertJobs(200, "/delay/2000");
            awaitCalls(200);

            TestDatabase.restart(mode);

            Jobs.awaitAllEnded(Duration.ofSeconds(60));
            assertListening();
        }
        assertEveryJobDoneWithOneCall(200);
    }

    @Test
    void should_store_results_made_during_a_30_second_outage_and_listen_again() throws Exception {
        try (Daemon daemon = Daemon.start(SLOW_SWEEP)) {
            insertJobs(500, "/delay/3000");
            awaitCalls(500);

            TestDatabase.stop("fast");
            // The calls end while PostgreSQL is away; the daemon must neither stop nor give up.
            Awaitility.await()
                    .during(Duration.ofSeconds(30))
                    .atMost(Duration.ofSeconds(40))
                    .until(() -> daemon.context().isStarted());
            TestDatabase.start();

            Jobs.awaitAllEnded(Duration.ofSeconds(60));
            assertListening();
        }
        assertEveryJobDoneWithOneCall(500);
    }

    @Test
    void should_claim_again_when_claims_failed_while_postgresql_was_down() throws Exception {
        // Room for ten jobs, which one failed claim that kept its room would use up for good.
        Map<String, String> tenJobs =
                Map.of("ipo.max-in-flight", "10", "ipo.claim.page-size", "10");
        try (Daemon daemon = Daemon.start(tenJobs)) {
            TestDatabase.stop("fast");
            // Longer than the pool's 30 s connection timeout, so that a sweep's claim fails.
            Awaitility.await()
                    .during(Duration.ofSeconds(35))
                    .atMost(Duration.ofSeconds(45))
                    .until(() -> daemon.context().isStarted());
            TestDatabase.start();

            insertJobs(30, "/status/200");
            Jobs.awaitAllEnded(Duration.ofSeconds(30));
        }
        assertThat(Jobs.count("state = 'done'")).isEqualTo(30);
    }

    /** Inserts one job and sees it done within seconds, which only a NOTIFY can do. */
    private static void assertListening() throws Exception {
        long id = Jobs.insert(server.url("/status/200?after-outage"));
        assertThat(Jobs.awaitEnded(id, LISTEN_DEADLINE).get("state")).isEqualTo("done");
    }

    /** Every job done on its first attempt, and every URL called once: no result was lost. */
    private static void assertEveryJobDoneWithOneCall(int jobs) throws Exception {
        assertThat(Jobs.count("state = 'done' AND attempts = 1")).isEqualTo(jobs + 1);
        assertThat(Jobs.query("SELECT * FROM ipo_attempt")).hasSize(jobs + 1);
        Map<String, Long> callsPerUrl =
                server.received().stream()
                        .collect(Collectors.groupingBy(Received::uri, Collectors.counting()));
        assertThat(callsPerUrl)
                .hasSize(jobs + 1)
                .allSatisfy((uri, calls) -> assertThat(calls).isOne());
    }

    private static void insertJobs(int count, String path) throws Exception {
        Jobs.execute(
                "INSERT INTO ipo_flower (url) SELECT '"
                        + server.url(path)
                        + "?n=' || n FROM generate_series(1, "
                        + count
                        + ") AS n");
    }

    private static void awaitCalls(int count) {
        Awaitility.await()
                .atMost(Duration.ofSeconds(30))
                .until(() -> server.received().size() == count);
    }
}
