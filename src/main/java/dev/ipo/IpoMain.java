package dev.ipo;

import org.apache.camel.main.Main;

/**
 * Starts the IPO daemon with camel-main: settings from {@code application.properties} and routes
 * from {@code routes/}, both read from the working directory so they can be edited without
 * recompiling.
 */
public final class IpoMain {

    private IpoMain() {}

    public static void main(String[] args) throws Exception {
        Main main = new Main();
        main.setDefaultPropertyPlaceholderLocation("file:application.properties");
        main.configure().addConfiguration(IpoConfiguration.class);
        System.exit(main.run(args));
    }
}
