package dev.ipo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ipo.support.DaemonProcess;
import dev.ipo.support.Jobs;
import dev.ipo.support.TestDatabase;
import dev.ipo.support.TestHttpServer;
import dev.ipo.support.TestHttpServer.Received;
import java.time.Duration;
import java.util.Map;
import java.util.stream.Collectors;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Checks that no job is lost or stuck when a daemon process is killed with SIGKILL mid-run. */
class CrashRecoveryIT {

    /** Short leases, so that a dead daemon's jobs come back within seconds. */
    private static final Map<String, String> SHORT_LEASE =
            Map.of("ipo.lease-ms", "3000", "ipo.lease-renew-interval-ms", "1000");

    private static TestHttpServer server;

    @BeforeAll
    static void startServer() throws Exception {
        server = TestHttpServer.start();
    }

    @AfterAll
    static void stopServer() {
        server.close();
    }

    @BeforeEach
    void emptyQueue() throws Exception {
        TestDatabase.clear();
        server.reset();
    }

    @Test
    void should_run_every_job_again_when_its_daemon_is_killed_with_1000_calls_in_flight()
            throws Exception {
        Jobs.execute(
                "INSERT INTO ipo_flower (url) SELECT '"
                        + server.url("/delay/5000")
                        + "?n=' || n FROM generate_series(1, 1000) AS n");

        try (DaemonProcess first = DaemonProcess.start("sigkill-first", SHORT_LEASE)) {
            Awaitility.await()
                    .atMost(Duration.ofSeconds(60))
                    .until(() -> server.received().size() == 1000);
            first.kill();
            assertThat(
                            Jobs.count(
                                    "state = 'running' AND claimed_by LIKE '"
                                            + first.claimedByPattern()
                                            + "'"))
                    .isEqualTo(1000);
        }
        try (DaemonProcess second = DaemonProcess.start("sigkill-second", SHORT_LEASE)) {
            Jobs.awaitAllEnded(Duration.ofSeconds(60));
        }

        // The killed attempt counts, as its request reached the server; the second one finished.
        assertThat(Jobs.count("state = 'done' AND attempts = 2")).isEqualTo(1000);
        assertThat(callsPerUrl())
                .hasSize(1000)
                .allSatisfy((uri, calls) -> assertThat(calls).isEqualTo(2));
        assertThat(Jobs.query("SELECT attempt FROM ipo_attempt"))
                .hasSize(1000)
                .allSatisfy(row -> assertThat(row.get("attempt")).isEqualTo(2));
    }

    private static Map<String, Long> callsPerUrl() {
        return server.received().stream()
                .collect(Collectors.groupingBy(Received::uri, Collectors.counting()));
    }
}
