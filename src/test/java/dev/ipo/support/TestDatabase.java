package dev.ipo.support;

import dev.ipo.database.Database;
import dev.ipo.database.EmbeddedDatabase;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;

/** One embedded PostgreSQL for the whole test run, carrying the schema IPO ships. */
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

    private static synchronized void stop() {
        try {
            server.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
