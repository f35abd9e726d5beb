package dev.ipo;

import org.apache.camel.main.Main;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

/**
 * Starts the IPO daemon with camel-main: settings from {@code application.properties} and routes
 * from {@code routes/}, both read from the working directory so they can be edited without
 * recompiling. Any setting can be given on the command line as a system property, {@code
 * -Dipo.db.url=...}, which takes precedence over the file.
 *
 * <p>SIGTERM stops the daemon gracefully: it takes no new jobs, waits up to {@code
 * camel.main.shutdown-timeout} seconds for the jobs in flight, hands back the rest and exits 0.
 */
public final class IpoMain {

    private static final Logger LOG = LoggerFactory.getLogger(IpoMain.class);

    private IpoMain() {}

    public static void main(String[] args) throws Exception {
        Main main = new Main();
        main.setDefaultPropertyPlaceholderLocation("file:application.properties");
        main.configure().addConfiguration(IpoConfiguration.class);
        // The JVM answers SIGTERM by running the shutdown hooks, where Camel stops gracefully, and
        // then exits 143 however clean the stop was. Handling the signal here instead ends main's
        // run, which stops Camel the same way and lets a clean stop exit 0.
        Signal.handle(
                new Signal("TERM"),
                signal -> {
                    LOG.info(
                            "Received SIGTERM; taking no new jobs and stopping gracefully. pid={}",
                            ProcessHandle.current().pid());
                    main.completed();
                });
        System.exit(main.run(args));
    }
}
