package dev.ipo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ipo.support.Daemon;
import dev.ipo.support.Jobs;
import dev.ipo.support.TestDatabase;
import dev.ipo.support.TestHttpServer;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Checks that slow servers are waited for on the event loop, not one thread per request. */
class ConcurrencyIT {

    private static TestHttpServer server;
    private static Daemon daemon;

    @BeforeAll
    static void startDaemon() throws Exception {
        TestDatabase.clear();
        server = TestHttpServer.start();
        daemon = Daemon.start();
    }

    @AfterAll
    static void stopDaemon() {
        daemon.close();
        server.close();
    }

    @Test
    void should_finish_1000_one_second_jobs_in_seconds_when_calls_overlap() throws Exception {
        Jobs.execute(
                "INSERT INTO ipo_flower (url) SELECT '"
                        + server.url("/delay/1000")
                        + "?n=' || n FROM generate_series(1, 1000) AS n");

        // One after another these would take 1,000 seconds; overlapped, about one.
        Jobs.awaitAllEnded(Duration.ofSeconds(15));

        assertThat(Jobs.count("state = 'done'")).isEqualTo(1000);
        // A thread per request from a pool would cap this at the pool size, typically 10 to 200.
        assertThat(server.mostInFlight()).isGreaterThan(250);
        int liveThreads = Thread.activeCount();
        assertThat(liveThreads).isLessThan(200);
    }
}
