package dev.ipo.support;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;

/** Inserts jobs and reads them back, as a user would with SQL. */
public final class Jobs {

    private Jobs() {}

    /** Inserts a GET with one attempt, so its first answer is final. */
    public static long insert(String url) throws SQLException {
        return insert(url, "GET", "", "{}", 1);
    }

    public static long insert(String url, String method, String data, String headers, int attempts)
            throws SQLException {
        try (Connection connection = TestDatabase.connect();
                PreparedStatement insert =
                        connection.prepareStatement(
                                "INSERT INTO ipo_flower (url, method, data, headers, max_attempts)"
                                        + " VALUES (?, ?, ?, CAST(? AS jsonb), ?) RETURNING id")) {
            insert.setString(1, url);
            insert.setString(2, method);
            insert.setString(3, data);
            insert.setString(4, headers);
            insert.setInt(5, attempts);
            try (ResultSet ids = insert.executeQuery()) {
                ids.next();
                return ids.getLong(1);
            }
        }
    }

    /** Runs one SQL statement, such as a bulk insert. */
    public static int execute(String sql) throws SQLException {
        try (Connection connection = TestDatabase.connect()) {
            return connection.createStatement().executeUpdate(sql);
        }
    }

    /** The job's row, column name to value. */
    public static Map<String, Object> row(long id) throws SQLException {
        List<Map<String, Object>> rows = query("SELECT * FROM ipo_flower WHERE id = " + id);
        return rows.isEmpty() ? Map.of() : rows.get(0);
    }

    public static List<Map<String, Object>> query(String sql) throws SQLException {
        try (Connection connection = TestDatabase.connect();
                ResultSet result = connection.createStatement().executeQuery(sql)) {
            ResultSetMetaData meta = result.getMetaData();
            List<Map<String, Object>> rows = new java.util.ArrayList<>();
            while (result.next()) {
                Map<String, Object> row = new HashMap<>();
                for (int i = 1; i <= meta.getColumnCount(); i++) {
                    row.put(meta.getColumnLabel(i), result.getObject(i));
                }
                rows.add(row);
            }
            return rows;
        }
    }

    public static long count(String whereClause) throws SQLException {
        List<Map<String, Object>> rows =
                query("SELECT count(*) AS n FROM ipo_flower WHERE " + whereClause);
        return ((Number) rows.get(0).get("n")).longValue();
    }

    /** Waits until the job has ended (done, failed or cancelled) and returns its row. */
    public static Map<String, Object> awaitEnded(long id, Duration timeout) {
        Awaitility.await()
                .atMost(timeout)
                .pollInterval(Duration.ofMillis(20))
                .until(() -> isEnded(row(id)));
        try {
            return row(id);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    public static Map<String, Object> awaitEnded(long id) {
        return awaitEnded(id, Duration.ofSeconds(20));
    }

    /** Waits until no job is left new, waiting or running. */
    public static void awaitAllEnded(Duration timeout) {
        Awaitility.await()
                .atMost(timeout)
                .pollInterval(Duration.ofMillis(100))
                .until(() -> count("state IN ('new', 'waiting', 'running')") == 0);
    }

    private static boolean isEnded(Map<String, Object> row) {
        Object state = row.get("state");
        return "done".equals(state) || "failed".equals(state) || "cancelled".equals(state);
    }
}
