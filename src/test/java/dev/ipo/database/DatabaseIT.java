package dev.ipo.database;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ipo.support.TestDatabase;
import java.sql.Connection;
import java.sql.ResultSet;
import org.junit.jupiter.api.Test;

/** Checks the settings IPO applies to its own database sessions. */
class DatabaseIT {

    @Test
    void should_use_the_configured_synchronous_commit_on_every_pooled_session() throws Exception {
        try (Database database =
                        new Database(TestDatabase.url(), TestDatabase.user(), "", 2, "off");
                Connection connection = database.pool().getConnection();
                ResultSet setting =
                        connection.createStatement().executeQuery("SHOW synchronous_commit")) {
            setting.next();
            assertThat(setting.getString(1)).isEqualTo("off");
        }
    }

    @Test
    void should_refuse_a_synchronous_commit_value_postgresql_does_not_know() {
        assertThatThrownBy(
                        () -> new Database(TestDatabase.url(), TestDatabase.user(), "", 2, "maybe"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("ipo.db.synchronous-commit");
    }
}
