package dev.ipo.job;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hands the jobs this daemon still holds back to the queue as it stops: those whose calls outlasted
 * the shutdown's grace period. Without it they would stay running until their leases expired, and
 * the lost attempt would count against the job.
 *
 * <p>It runs on plain JDBC because it runs after the grace period, when Camel refuses to route any
 * more exchanges.
 */
public final class JobHandBack {

    private static final Logger LOG = LoggerFactory.getLogger(JobHandBack.class);

    private final DataSource dataSource;
    private final String daemonId;
    private final String sql;

    /**
     * @param sqlFile hand-back-running-jobs.sql, read now so that a missing file stops IPO at start
     */
    public JobHandBack(DataSource dataSource, String daemonId, Path sqlFile) throws IOException {
        this.dataSource = dataSource;
        this.daemonId = daemonId;
        this.sql = Files.readString(sqlFile);
    }

    /** Returns this daemon's running jobs to the queue; logs instead of throwing. */
    public void handBackRunningJobs() {
        try (Connection connection = dataSource.getConnection();
                PreparedStatement update = connection.prepareStatement(sql)) {
            update.setString(1, daemonId);
            int jobs = update.executeUpdate();
            if (jobs > 0) {
                LOG.warn(
                        "Handed back jobs still running at shutdown; their attempts do not count."
                                + " daemon_id={} jobs={}",
                        daemonId,
                        jobs);
            }
        } catch (SQLException e) {
            LOG.error(
                    "Could not hand back jobs still running at shutdown; they run again when"
                            + " their leases expire. daemon_id={}",
                    daemonId,
                    e);
        }
    }
}
