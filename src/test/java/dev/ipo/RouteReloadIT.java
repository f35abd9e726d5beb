package dev.ipo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ipo.support.Daemon;
import dev.ipo.support.Jobs;
import dev.ipo.support.TestDatabase;
import dev.ipo.support.TestHttpServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.apache.camel.Route;
import org.apache.camel.support.RouteWatcherReloadStrategy;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/** Checks that route files edited while IPO runs take effect, and broken edits do no harm. */
class RouteReloadIT {

    @Test
    void should_keep_running_jobs_on_the_last_good_routes_when_an_edit_does_not_parse()
            throws Exception {
        TestDatabase.clear();
        Path routes = Files.createTempDirectory("ipo-routes");
        Path file = routes.resolve("ipo.camel.yaml");
        String original = Files.readString(Path.of("routes/ipo.camel.yaml"));
        Files.writeString(file, original);
        try (TestHttpServer server = TestHttpServer.start();
                Daemon daemon =
                        Daemon.start(
                                Map.of(
                                        "camel.main.routes-include-pattern",
                                        "file:" + routes + "/*.camel.yaml",
                                        "camel.main.routes-reload-directory",
                                        routes.toString()))) {
            int routeCount = daemon.context().getRoutes().size();
            RouteWatcherReloadStrategy reloader =
                    daemon.context().hasService(RouteWatcherReloadStrategy.class);

            Files.writeString(file, original.replaceFirst("- route:", "- route: [broken"));
            Awaitility.await()
                    .atMost(Duration.ofSeconds(20))
                    .until(() -> reloader.getFailedCounter() >= 1);

            long id = Jobs.insert(server.url("/status/200"));
            assertThat(Jobs.awaitEnded(id).get("state")).isEqualTo("done");
            assertThat(daemon.context().getRoutes()).hasSize(routeCount);

            Files.writeString(
                    file,
                    original.replace("Rings the claim doorbell for every", "Rings for every"));
            // A reload stops and starts every route of the file, waiting for jobs in flight.
            Awaitility.await()
                    .atMost(Duration.ofSeconds(60))
                    .until(() -> reloader.getReloadCounter() >= 1);

            long afterReload = Jobs.insert(server.url("/status/200"));
            assertThat(Jobs.awaitEnded(afterReload).get("state")).isEqualTo("done");
            assertThat(daemon.context().getRoutes())
                    .extracting(Route::getDescription)
                    .contains("Rings for every NOTIFY on ipo_input.");
        }
    }
}
