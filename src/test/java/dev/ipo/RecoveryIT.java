package dev.ipo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ipo.support.Daemon;
import dev.ipo.support.Jobs;
import dev.ipo.support.QueueTest;
import dev.ipo.support.TestHttpServer.Received;
import java.time.Duration;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** Checks that jobs nobody was listening for still run, and that daemons never share a job. */
class RecoveryIT extends QueueTest {

    @Test
    void should_run_jobs_inserted_while_no_daemon_was_running() throws Exception {
        Jobs.execute(
                "INSERT INTO ipo_flower (url) SELECT '"
                        + server.url("/status/200")
                        + "?n=' || n FROM generate_series(1, 50) AS n");

        try (Daemon daemon = Daemon.start()) {
            Jobs.awaitAllEnded(Duration.ofSeconds(20));
        }

        assertThat(Jobs.count("state = 'done'")).isEqualTo(50);
    }

    @Test
    void should_call_each_url_exactly_once_when_two_daemons_share_the_database() throws Exception {
        // Small pages and caps, so that neither daemon can take the whole queue at once.
        Map<String, String> small = Map.of("ipo.claim.page-size", "7", "ipo.max-in-flight", "40");
        try (Daemon first = Daemon.start(small);
                Daemon second = Daemon.start(small)) {
            Jobs.execute(
                    "INSERT INTO ipo_flower (url) SELECT '"
                            + server.url("/delay/20")
                            + "?n=' || n FROM generate_series(1, 500) AS n");

            Jobs.awaitAllEnded(Duration.ofSeconds(30));
        }

        Map<String, Long> callsPerUrl =
                server.received().stream()
                        .collect(Collectors.groupingBy(Received::uri, Collectors.counting()));
        assertThat(callsPerUrl).hasSize(500).allSatisfy((uri, calls) -> assertThat(calls).isOne());
        assertThat(Jobs.count("state = 'done' AND attempts = 1")).isEqualTo(500);
        Map<Object, Long> jobsPerDaemon =
                Jobs.query("SELECT claimed_by FROM ipo_flower").stream()
                        .map(row -> row.get("claimed_by"))
                        .collect(Collectors.groupingBy(Function.identity(), Collectors.counting()));
        assertThat(jobsPerDaemon).as("both daemons took part").hasSize(2);
    }
}
