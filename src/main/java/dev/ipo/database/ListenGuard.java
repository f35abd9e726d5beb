package dev.ipo.database;

import org.apache.camel.CamelContext;
import org.apache.camel.ServiceStatus;
import org.apache.camel.spi.RouteController;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the LISTEN route listening: when {@link ListenDataSource} reports its connection lost, it
 * restarts the route, which opens a new connection, and keeps trying at each check while PostgreSQL
 * is away. camel-pgevent cannot be left to reconnect by itself; see {@link ListenDataSource}.
 */
public final class ListenGuard {

    private static final Logger LOG = LoggerFactory.getLogger(ListenGuard.class);

    private final CamelContext context;
    private final ListenDataSource dataSource;
    private final String routeId;
    private int failedStarts;

    /**
     * @param routeId the route that consumes from camel-pgevent on {@code dataSource}
     */
    public ListenGuard(CamelContext context, ListenDataSource dataSource, String routeId) {
        this.context = context;
        this.dataSource = dataSource;
        this.routeId = routeId;
    }

    /**
     * Restarts the LISTEN route if its connection is lost. Returns true once it listens again, as
     * the NOTIFYs sent meanwhile are gone; false when nothing was lost or PostgreSQL is still away.
     * Called from one timer, never concurrently.
     */
    public boolean relistenIfLost() {
        if (!dataSource.isConnectionLost()) {
            return false;
        }
        RouteController routes = context.getRouteController();
        try {
            if (routes.getRouteStatus(routeId) == ServiceStatus.Started) {
                routes.stopRoute(routeId);
            }
            routes.startRoute(routeId);
        } catch (Exception e) {
            failedStarts++;
            LOG.debug(
                    "Could not LISTEN again yet; trying at the next check. route_id={}"
                            + " failed_starts={} error={}",
                    routeId,
                    failedStarts,
                    e.getMessage());
            return false;
        }
        LOG.info("LISTEN works again. route_id={} failed_starts={}", routeId, failedStarts);
        failedStarts = 0;
        return true;
    }
}
