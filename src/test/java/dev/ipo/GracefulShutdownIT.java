package dev.ipo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ipo.support.DaemonProcess;
import dev.ipo.support.Jobs;
import dev.ipo.support.QueueTest;
import java.time.Duration;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/** Checks that SIGTERM takes no new jobs, finishes or hands back those in flight, and exits 0. */
class GracefulShutdownIT extends QueueTest {

    @Test
    void should_finish_jobs_in_flight_and_take_no_new_ones_when_sigterm_comes() throws Exception {
        Jobs.execute(
                "INSERT INTO ipo_flower (url) SELECT '"
                        + server.url("/delay/3000")
                        + "?n=' || n FROM generate_series(1, 200) AS n");
        Map<String, String> settings =
                Map.of("ipo.max-in-flight", "50", "camel.main.shutdown-timeout", "30");

        try (DaemonProcess daemon = DaemonProcess.start("sigterm-finish", settings)) {
            Awaitility.await()
                    .atMost(Duration.ofSeconds(60))
                    .until(() -> server.received().size() == 50);

            assertThat(daemon.terminate(Duration.ofSeconds(40))).isZero();
        }

        assertThat(Jobs.count("state = 'done' AND attempts = 1")).isEqualTo(50);
        assertThat(Jobs.count("state = 'new' AND attempts = 0")).isEqualTo(150);
        assertThat(server.received()).hasSize(50);
    }

    @Test
    void should_hand_back_jobs_slower_than_the_grace_period_and_exit_0() throws Exception {
        Jobs.execute(
                "INSERT INTO ipo_flower (url) SELECT '"
                        + server.url("/delay/60000")
                        + "?n=' || n FROM generate_series(1, 100) AS n");

        try (DaemonProcess daemon =
                DaemonProcess.start(
                        "sigterm-hand-back", Map.of("camel.main.shutdown-timeout", "2"))) {
            Awaitility.await()
                    .atMost(Duration.ofSeconds(60))
                    .until(() -> server.received().size() == 100);
            long sigterm = System.nanoTime();

            assertThat(daemon.terminate(Duration.ofSeconds(40))).isZero();

            Duration stopping = Duration.ofNanos(System.nanoTime() - sigterm);
            assertThat(stopping)
                    .as("waited out the grace period")
                    .isGreaterThan(Duration.ofSeconds(2));
        }

        assertThat(Jobs.count("state = 'running'")).isZero();
        assertThat(Jobs.count("state = 'waiting' AND attempts = 0 AND claimed_by = ''"))
                .isEqualTo(100);
        assertThat(Jobs.query("SELECT * FROM ipo_attempt")).isEmpty();
    }
}
