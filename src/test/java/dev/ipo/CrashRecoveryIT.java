package dev.ipo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ipo.support.DaemonProcess;
import dev.ipo.support.Jobs;
import dev.ipo.support.QueueTest;
import dev.ipo.support.TestHttpServer.Received;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/** Checks that no job is lost or stuck when a daemon process is killed with SIGKILL mid-run. */
class CrashRecoveryIT extends QueueTest {

    /** Short leases, so that a dead daemon's jobs come back within seconds. */
    private static final Map<String, String> SHORT_LEASE =
            Map.of("ipo.lease-ms", "3000", "ipo.lease-renew-interval-ms", "1000");

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

    @Test
    void should_call_each_url_once_per_attempt_when_one_of_three_daemons_is_killed()
            throws Exception {
        Jobs.execute(
                "INSERT INTO ipo_flower (url) SELECT '"
                        + server.url("/delay/2000")
                        + "?n=' || n FROM generate_series(1, 3000) AS n");
        // Small caps and pages, so that the work is shared and outlasts the kill.
        Map<String, String> settings = new HashMap<>(SHORT_LEASE);
        settings.put("ipo.max-in-flight", "100");
        settings.put("ipo.claim.page-size", "20");

        List<Long> heldByVictim;
        try (DaemonProcess victim = DaemonProcess.start("three-victim", settings);
                DaemonProcess second = DaemonProcess.start("three-second", settings);
                DaemonProcess third = DaemonProcess.start("three-third", settings)) {
            Awaitility.await()
                    .atMost(Duration.ofSeconds(60))
                    .until(
                            () ->
                                    callingForASecond(victim) >= 50
                                            && running(second) > 0
                                            && running(third) > 0);
            victim.kill();
            heldByVictim =
                    Jobs.query(
                                    "SELECT id FROM ipo_flower WHERE state = 'running'"
                                            + " AND claimed_by LIKE '"
                                            + victim.claimedByPattern()
                                            + "'")
                            .stream()
                            .map(row -> (Long) row.get("id"))
                            .toList();

            Jobs.awaitAllEnded(Duration.ofSeconds(120));
        }

        assertThat(heldByVictim).as("the victim died mid-run").isNotEmpty();
        assertThat(Jobs.count("state = 'done'")).isEqualTo(3000);
        Map<String, Long> calls = callsPerUrl();
        for (Map<String, Object> job :
                Jobs.query(
                        "SELECT job.id, job.url, job.attempts, count(attempt.attempt) AS stored,"
                                + " max(attempt.attempt) AS last_stored"
                                + " FROM ipo_flower AS job"
                                + " LEFT JOIN ipo_attempt AS attempt ON attempt.flower_id = job.id"
                                + " GROUP BY job.id")) {
            long id = (Long) job.get("id");
            int attempts = (Integer) job.get("attempts");
            long callsToUrl = calls.getOrDefault(path((String) job.get("url")), 0L);
            assertThat(job.get("stored")).as("results stored for job %d", id).isEqualTo(1L);
            assertThat(job.get("last_stored"))
                    .as("stored attempt of job %d", id)
                    .isEqualTo(attempts);
            if (heldByVictim.contains(id)) {
                // The victim's attempt counts; its request may or may not have left the process.
                assertThat(attempts).as("attempts of job %d", id).isEqualTo(2);
                assertThat(callsToUrl).as("calls for job %d", id).isBetween(1L, 2L);
            } else {
                assertThat(attempts).as("attempts of job %d", id).isEqualTo(1);
                assertThat(callsToUrl).as("calls for job %d", id).isEqualTo(1);
            }
        }
    }

    private static long running(DaemonProcess daemon) throws Exception {
        return Jobs.count(
                "state = 'running' AND claimed_by LIKE '" + daemon.claimedByPattern() + "'");
    }

    /** Running jobs claimed over a second ago: their two-second calls are most likely out. */
    private static long callingForASecond(DaemonProcess daemon) throws Exception {
        return Jobs.count(
                "state = 'running' AND claimed_by LIKE '"
                        + daemon.claimedByPattern()
                        + "' AND updated_at < now() - INTERVAL '1 second'");
    }

    /** The path and query of a job's URL, as the server records it. */
    private static String path(String url) {
        return url.substring(server.url("").length());
    }

    private static Map<String, Long> callsPerUrl() {
        return server.received().stream()
                .collect(Collectors.groupingBy(Received::uri, Collectors.counting()));
    }
}
