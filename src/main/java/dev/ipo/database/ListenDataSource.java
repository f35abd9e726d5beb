package dev.ipo.database;

import com.impossibl.postgres.api.jdbc.PGConnection;
import com.impossibl.postgres.api.jdbc.PGNotificationListener;
import com.impossibl.postgres.jdbc.PGDataSource;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.SQLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pgjdbc-ng data source camel-pgevent takes its LISTEN connection from, and the watch over that
 * connection.
 *
 * <p>camel-pgevent (4.17) reconnects by itself when its connection closes, but the reconnect blocks
 * one of the driver's I/O threads for good and gives up after its first failed attempt: after
 * PostgreSQL has been away for more than a second or two, the route still reports Started and hears
 * nothing. So the connections this hands out never tell camel-pgevent that they closed; {@link
 * #isConnectionLost()} tells {@link ListenGuard} instead, which restarts the LISTEN route on a new
 * connection.
 */
public final class ListenDataSource extends PGDataSource {

    private static final Logger LOG = LoggerFactory.getLogger(ListenDataSource.class);

    /** Seconds the connection may take to answer the check before it counts as lost. */
    private static final int CHECK_TIMEOUT_SECONDS = 5;

    private volatile PGConnection current;
    private volatile boolean closed = true;

    @Override
    public Connection getConnection(String user, String password) throws SQLException {
        PGConnection connection = (PGConnection) super.getConnection(user, password);
        current = connection;
        closed = false;
        return watched(connection);
    }

    /**
     * True when the last connection handed out closed, does not answer within {@value
     * #CHECK_TIMEOUT_SECONDS} seconds, or was never opened. A connection that does not answer is
     * closed, so that it stays lost.
     */
    public boolean isConnectionLost() {
        PGConnection connection = current;
        if (connection == null || closed) {
            return true;
        }
        boolean answered;
        try {
            // A Sync round trip on the LISTEN connection itself, not a query on another one.
            answered = connection.isValid(CHECK_TIMEOUT_SECONDS);
        } catch (SQLException e) {
            answered = false;
        }
        if (!answered) {
            LOG.warn(
                    "The LISTEN connection to PostgreSQL stopped answering; a new one will be"
                            + " opened. timeout_s={}",
                    CHECK_TIMEOUT_SECONDS);
            closed = true;
            try {
                connection.close();
            } catch (SQLException | RuntimeException ignored) {
                // It is being replaced; failing to close it changes nothing.
            }
        }
        return !answered;
    }

    /** The connection, with every notification listener added to it shielded from its closing. */
    private PGConnection watched(PGConnection connection) {
        return (PGConnection)
                Proxy.newProxyInstance(
                        PGConnection.class.getClassLoader(),
                        new Class<?>[] {PGConnection.class},
                        (proxy, method, args) -> invoke(connection, method, args));
    }

    private Object invoke(PGConnection connection, Method method, Object[] args) throws Throwable {
        if (method.getName().equals("close") && current == connection) {
            closed = true; // by its user, not lost
        } else if (method.getName().equals("addNotificationListener")) {
            for (int i = 0; i < args.length; i++) {
                if (args[i] instanceof PGNotificationListener listener) {
                    args[i] = shielded(connection, listener);
                }
            }
        }
        try {
            return method.invoke(connection, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    private PGNotificationListener shielded(
            PGConnection connection, PGNotificationListener listener) {
        return new PGNotificationListener() {
            @Override
            public void notification(int processId, String channelName, String payload) {
                listener.notification(processId, channelName, payload);
            }

            @Override
            public void closed() {
                // Not passed on: camel-pgevent would block this I/O thread trying to reconnect.
                if (current == connection && !closed) {
                    closed = true;
                    LOG.warn(
                            "The LISTEN connection to PostgreSQL closed; a new one will be opened"
                                    + " as soon as PostgreSQL accepts it.");
                }
            }
        };
    }
}
