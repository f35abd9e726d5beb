package dev.ipo;

import dev.ipo.database.Database;
import dev.ipo.database.EmbeddedDatabase;
import dev.ipo.database.ListenGuard;
import dev.ipo.http.JobHttpBinding;
import dev.ipo.job.JobCapacity;
import dev.ipo.job.JobHandBack;
import dev.ipo.job.ResultStore;
import dev.ipo.job.RetryPolicy;
import io.vertx.ext.web.client.WebClientOptions;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.Map;
import java.util.UUID;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.spi.PropertiesComponent;
import org.apache.camel.support.service.ServiceSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds the beans IPO's routes refer to, from the {@code ipo.*} settings: the database (an
 * embedded one when {@code ipo.db.url} is empty), its schema, the HTTP binding and client options,
 * and the in-flight cap and result store.
 *
 * <p>To run IPO's routes in an existing Camel application, add this class to {@code
 * camel.main.configuration-classes}.
 */
public final class IpoConfiguration implements CamelConfiguration {

    private static final Logger LOG = LoggerFactory.getLogger(IpoConfiguration.class);

    /** The route that writes a batch of results; see routes/ipo.camel.yaml. */
    private static final String STORE_ENDPOINT = "direct:job-store-results";

    /** The route that LISTENs on ipo_input; see routes/ipo.camel.yaml. */
    private static final String LISTEN_ROUTE = "input-listen-new-jobs";

    /** Returns this daemon's unfinished jobs to the queue as it stops; see {@link JobHandBack}. */
    private static final Path HAND_BACK_SQL = Path.of("routes/sql/hand-back-running-jobs.sql");

    @Override
    public void configure(CamelContext context) throws Exception {
        Settings settings = new Settings(context.getPropertiesComponent());

        Database database = openDatabase(context, settings);
        database.migrate(
                Map.of(
                        "max_attempts", settings.text("ipo.job.max-attempts"),
                        "timeout_ms", settings.text("ipo.job.timeout-ms")));
        context.getRegistry().bind("ipoDataSource", database.pool());
        context.getRegistry().bind("ipoListenDataSource", database.listenDataSource());
        context.getRegistry()
                .bind(
                        "listenGuard",
                        new ListenGuard(context, database.listenDataSource(), LISTEN_ROUTE));
        closeOnStop(context, database);

        String daemonId = daemonId();
        context.getPropertiesComponent().addInitialProperty("ipo.daemon-id", daemonId);
        LOG.info("IPO daemon is starting. daemon_id={}", daemonId);

        int maxInFlight = settings.number("ipo.max-in-flight");
        JobCapacity capacity = new JobCapacity(maxInFlight, settings.number("ipo.claim.page-size"));
        context.getRegistry().bind("jobCapacity", capacity);
        context.getRegistry()
                .bind(
                        "jobHttpBinding",
                        new JobHttpBinding(
                                webClientOptions(settings, maxInFlight),
                                settings.number("ipo.http.max-response-bytes"),
                                settings.number("ipo.http.connect-timeout-ms"),
                                settings.number("ipo.http.max-redirects")));

        RetryPolicy retryPolicy =
                new RetryPolicy(
                        settings.number("ipo.retry.base-delay-ms"),
                        settings.number("ipo.retry.max-delay-ms"));
        ResultStore resultStore =
                new ResultStore(
                        context.createProducerTemplate(),
                        capacity,
                        STORE_ENDPOINT,
                        new JobHandBack(database.pool(), daemonId, HAND_BACK_SQL),
                        retryPolicy,
                        daemonId,
                        settings.number("ipo.store.batch-size"));
        context.getRegistry().bind("resultStore", resultStore);
        context.addService(
                new ServiceSupport() {
                    @Override
                    protected void doStart() {
                        resultStore.start();
                    }

                    @Override
                    protected void doStop() throws InterruptedException {
                        resultStore.stop();
                    }
                });
    }

    private static Database openDatabase(CamelContext context, Settings settings) throws Exception {
        String url = settings.text("ipo.db.url");
        String user = settings.text("ipo.db.user");
        String password = settings.text("ipo.db.password");
        if (url.isBlank()) {
            String dataDir = settings.text("ipo.embedded.data-dir");
            Path directory =
                    dataDir.isBlank() ? EmbeddedDatabase.defaultDataDirectory() : Path.of(dataDir);
            EmbeddedDatabase embedded =
                    EmbeddedDatabase.start(directory, settings.number("ipo.embedded.port"));
            closeOnStop(context, embedded);
            url = embedded.jdbcUrl();
            user = EmbeddedDatabase.USER;
            password = "";
            LOG.info(
                    "Embedded PostgreSQL is ready. jdbc_url={} data_dir={} psql=\"psql -h localhost"
                            + " -p {} -U {} {}\"",
                    url,
                    embedded.dataDirectory(),
                    embedded.port(),
                    user,
                    EmbeddedDatabase.DATABASE);
        }
        return new Database(
                url,
                user,
                password,
                settings.number("ipo.db.pool-size"),
                settings.text("ipo.db.synchronous-commit"));
    }

    private static WebClientOptions webClientOptions(Settings settings, int maxInFlight) {
        boolean trustAll = Boolean.parseBoolean(settings.text("ipo.http.trust-all-certificates"));
        return new WebClientOptions()
                .setUserAgent(settings.text("ipo.http.user-agent"))
                // Every job in flight may talk to the same host; the in-flight cap is the limit.
                .setMaxPoolSize(maxInFlight)
                .setKeepAlive(true)
                .setTrustAll(trustAll)
                .setVerifyHost(!trustAll)
                // Store bodies exactly as sent: never ask for, or undo, compression.
                .setTryUseCompression(false)
                .setDecompressionSupported(false);
    }

    /**
     * Unique per process, also across restarts in a container where the pid is always 1, so a new
     * daemon never mistakes the leases of its dead predecessor for its own.
     */
    private static String daemonId() {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            host = "unknown-host";
        }
        long pid = ManagementFactory.getRuntimeMXBean().getPid();
        return host + "/" + pid + "/" + UUID.randomUUID().toString().substring(0, 8);
    }

    /** Closes the resource when the Camel context stops, after the routes. */
    private static void closeOnStop(CamelContext context, AutoCloseable resource) throws Exception {
        context.addService(
                new ServiceSupport() {
                    @Override
                    protected void doStop() throws Exception {
                        resource.close();
                    }
                });
    }

    /** Reads {@code ipo.*} settings, which application.properties always defines. */
    private record Settings(PropertiesComponent properties) {

        String text(String key) {
            return properties
                    .resolveProperty(key)
                    .orElseThrow(() -> new IllegalStateException("Missing setting " + key));
        }

        int number(String key) {
            String value = text(key).trim();
            try {
                return Integer.parseInt(value);
            } catch (NumberFormatException e) {
                throw new IllegalStateException(
                        "Setting " + key + " must be a whole number, got: " + value, e);
            }
        }
    }
}
