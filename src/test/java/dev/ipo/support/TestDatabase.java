package dev.ipo.support;

import dev.ipo.database.Database;
import dev.ipo.database.EmbeddedDatabase;
import io.zonky.test.db.postgres.util.LinuxUtils;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One embedded PostgreSQL for the whole test run, carrying the schema IPO ships. Tests may stop,
 * start and restart it, but must leave it running for the test classes after them.
 */
public final class TestDatabase {

    private static EmbeddedDatabase server;

    private TestDatabase() {}

    /** The JDBC URL, starting the server and migrating the schema on first use. */
    public static synchronized String url() {
        if (server == null) {
            try {
                server = EmbeddedDatabase.start(Files.createTempDirectory("ipo-test-pg"), 0);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            try (Database database = new Database(server.jdbcUrl(), user(), "", 2)) {
                database.migrate(Map.of("max_attempts", "5", "timeout_ms", "30000"));
            }
            Runtime.getRuntime().addShutdownHook(new Thread(TestDatabase::stop));
        }
        return server.jdbcUrl();
    }

    public static String user() {
        return EmbeddedDatabase.USER;
    }

    public static Connection connect() throws SQLException {
        return DriverManager.getConnection(url(), user(), "");
    }

    /** Removes every job and attempt, so each test starts from an empty queue. */
    public static void clear() throws SQLException {
        try (Connection connection = connect();
                Statement statement = connection.createStatement()) {
            statement.execute("TRUNCATE ipo_flower RESTART IDENTITY CASCADE");
        }
    }

    /**
     * Restarts the server with {@code pg_ctl restart}.
     *
     * @param mode pg_ctl's shutdown mode: {@code fast} disconnects clients and shuts down cleanly,
     *     {@code immediate} kills the server as a crash would, leaving recovery to the next start
     */
    public static void restart(String mode) {
        pgCtl("restart", "-m", mode, "-l", serverLog());
    }

    /** Stops the server until {@link #start()}; the data and the port stay the same. */
    public static void stop(String mode) {
        pgCtl("stop", "-m", mode);
    }

    /** Starts the server again after {@link #stop(String)}; does nothing if it is running. */
    public static void start() {
        if (pgCtl("status") == 0) {
            return;
        }
        // pg_ctl start would need the server's options again; restart of a stopped server starts
        // it with those it recorded in postmaster.opts, port included.
        pgCtl("restart", "-l", serverLog());
    }

    /**
     * Runs zonky's pg_ctl on the test cluster the way zonky does: as root through {@code unshare
     * -U}, as PostgreSQL refuses to run as root. Returns the exit code of {@code status}; other
     * commands must succeed.
     */
    private static synchronized int pgCtl(String action, String... options) {
        url();
        Path dataDirectory = server.dataDirectory();
        List<String> command = new ArrayList<>();
        if (LinuxUtils.isUnshareAvailable()) {
            command.addAll(List.of("unshare", "-U"));
        }
        command.add(postgresBinary(dataDirectory).resolveSibling("pg_ctl").toString());
        command.addAll(List.of("-D", dataDirectory.toString(), "-w"));
        command.addAll(List.of(options));
        command.add(action);
        try {
            Process process =
                    new ProcessBuilder(command)
                            .redirectErrorStream(true)
                            .redirectOutput(
                                    ProcessBuilder.Redirect.appendTo(
                                            dataDirectory.resolve("pg_ctl.log").toFile()))
                            .start();
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException("pg_ctl did not finish: " + command);
            }
            int exitCode = process.exitValue();
            if (exitCode != 0 && !action.equals("status")) {
                throw new IllegalStateException(
                        "pg_ctl failed with exit code " + exitCode + ": " + command);
            }
            return exitCode;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Where the server writes its log once pg_ctl has restarted it. */
    private static String serverLog() {
        return server.dataDirectory().resolve("postgres.log").toString();
    }

    /** The postgres binary zonky unpacked, as the server recorded its own command line. */
    private static Path postgresBinary(Path dataDirectory) {
        try {
            String options = Files.readString(dataDirectory.resolve("postmaster.opts"));
            return Path.of(options.substring(0, options.indexOf(' ')));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static synchronized void stop() {
        try {
            server.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
