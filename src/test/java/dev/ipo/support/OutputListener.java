package dev.ipo.support;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

/** LISTENs on ipo_output, as a user's program would, and collects the payloads. */
public final class OutputListener implements AutoCloseable {

    private final Connection connection;
    private final List<String> payloads = new ArrayList<>();

    public OutputListener() throws SQLException {
        connection = TestDatabase.connect();
        connection.createStatement().execute("LISTEN ipo_output");
    }

    /** Waits until at least {@code count} NOTIFYs have arrived, or the timeout passes. */
    public List<String> awaitPayloads(int count, Duration timeout) throws SQLException {
        long deadline = System.nanoTime() + timeout.toNanos();
        PGConnection listener = connection.unwrap(PGConnection.class);
        while (payloads.size() < count) {
            long remainingMillis = (deadline - System.nanoTime()) / 1_000_000;
            if (remainingMillis <= 0) {
                break;
            }
            PGNotification[] notifications = listener.getNotifications((int) remainingMillis);
            if (notifications != null) {
                for (PGNotification notification : notifications) {
                    payloads.add(notification.getParameter());
                }
            }
        }
        return List.copyOf(payloads);
    }

    /** Collects whatever else arrives within the quiet period, to catch duplicates. */
    public List<String> drain(Duration quietPeriod) throws SQLException {
        return awaitPayloads(Integer.MAX_VALUE, quietPeriod);
    }

    @Override
    public void close() throws SQLException {
        connection.close();
    }
}
