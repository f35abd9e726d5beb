package dev.ipo.support;

import dev.ipo.IpoConfiguration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.camel.CamelContext;
import org.apache.camel.main.Main;
import org.awaitility.Awaitility;

/**
 * An IPO daemon inside the test JVM: camel-main with the shipped application.properties and routes,
 * pointed at the test database. Several can run at once, like several processes.
 */
public final class Daemon implements AutoCloseable {

    private final Main main;

    private Daemon(Main main) {
        this.main = main;
    }

    public static Daemon start() {
        return start(Map.of());
    }

    /** Starts a daemon, with settings that replace those in application.properties. */
    public static Daemon start(Map<String, String> settings) {
        Main main = new Main();
        main.setDefaultPropertyPlaceholderLocation("file:application.properties");
        main.configure().addConfiguration(IpoConfiguration.class);
        main.addOverrideProperty("ipo.db.url", TestDatabase.url());
        main.addOverrideProperty("ipo.db.user", TestDatabase.user());
        main.addOverrideProperty("ipo.db.password", "");
        settings.forEach(main::addOverrideProperty);
        try {
            main.start();
        } catch (Exception e) {
            throw new IllegalStateException("The daemon did not start", e);
        }
        Awaitility.await()
                .atMost(30, TimeUnit.SECONDS)
                .until(() -> main.getCamelContext() != null && main.getCamelContext().isStarted());
        return new Daemon(main);
    }

    public CamelContext context() {
        return main.getCamelContext();
    }

    @Override
    public void close() {
        main.stop();
    }
}
