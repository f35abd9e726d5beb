package dev.ipo.database;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.util.Map;
import java.util.Set;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * IPO's two ways into PostgreSQL: a HikariCP pool on the official driver for every query, and a
 * pgjdbc-ng data source for the LISTEN connection, which camel-pgevent needs (it asks the
 * connection for pgjdbc-ng's own notification API).
 */
public final class Database implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Database.class);

    private final HikariDataSource pool;
    private final ListenDataSource listenDataSource;

    /** The values PostgreSQL accepts for {@code synchronous_commit}. */
    private static final Set<String> SYNCHRONOUS_COMMIT_VALUES =
            Set.of("on", "off", "local", "remote_write", "remote_apply");

    public Database(String jdbcUrl, String user, String password, int poolSize) {
        this(jdbcUrl, user, password, poolSize, "on");
    }

    /**
     * @param jdbcUrl a {@code jdbc:postgresql://host:port/database} URL
     * @param poolSize the most connections the pool opens
     * @param synchronousCommit {@code synchronous_commit} for IPO's own sessions only; "off" saves
     *     a disk flush per claim and per stored batch, at the risk described in the README
     */
    public Database(
            String jdbcUrl, String user, String password, int poolSize, String synchronousCommit) {
        if (!SYNCHRONOUS_COMMIT_VALUES.contains(synchronousCommit)) {
            throw new IllegalArgumentException(
                    "ipo.db.synchronous-commit must be one of "
                            + SYNCHRONOUS_COMMIT_VALUES
                            + ", got: "
                            + synchronousCommit);
        }
        if (!jdbcUrl.startsWith("jdbc:postgresql://")) {
            throw new IllegalArgumentException(
                    "ipo.db.url must start with jdbc:postgresql://, got: " + jdbcUrl);
        }
        HikariConfig config = new HikariConfig();
        config.setPoolName("ipo");
        config.setJdbcUrl(jdbcUrl);
        config.setUsername(user);
        config.setPassword(password);
        config.setMaximumPoolSize(poolSize);
        config.setConnectionInitSql("SET synchronous_commit = " + synchronousCommit);
        // Start even when the database is briefly away; queries fail and are retried instead.
        config.setInitializationFailTimeout(-1);
        pool = new HikariDataSource(config);

        listenDataSource = new ListenDataSource();
        listenDataSource.setUrl(jdbcUrl.replaceFirst("^jdbc:postgresql:", "jdbc:pgsql:"));
        listenDataSource.setUser(user);
        listenDataSource.setPassword(password);
    }

    /** The pool every route query runs on. */
    public DataSource pool() {
        return pool;
    }

    /** A data source for camel-pgevent's LISTEN connection, which watches that connection. */
    public ListenDataSource listenDataSource() {
        return listenDataSource;
    }

    /**
     * Creates or upgrades the schema with the migrations shipped in the jar.
     *
     * @param placeholders values for {@code ${...}} in the migrations, such as column defaults
     */
    public void migrate(Map<String, String> placeholders) {
        var result =
                Flyway.configure()
                        .dataSource(pool)
                        .locations("classpath:db/migration")
                        .placeholders(placeholders)
                        .load()
                        .migrate();
        LOG.info(
                "Database schema is ready. schema_version={} migrations_applied={}",
                result.targetSchemaVersion != null
                        ? result.targetSchemaVersion
                        : result.initialSchemaVersion,
                result.migrationsExecuted);
    }

    @Override
    public void close() {
        pool.close();
    }
}
