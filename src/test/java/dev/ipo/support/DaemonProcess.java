package dev.ipo.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * An IPO daemon in its own OS process, started the way an operator starts it ({@code java ...
 * dev.ipo.IpoMain} in the project directory), so that tests can kill it for real. Settings are
 * passed as {@code -D} system properties, which override application.properties.
 *
 * <p>The classpath is target/classes and the runtime jars that {@code mvn package} copies to
 * target/lib; failsafe runs after {@code package}, so both exist. Each daemon's output goes to
 * target/daemon-logs/.
 */
public final class DaemonProcess implements AutoCloseable {

    private static final Path PROJECT = Path.of("").toAbsolutePath();
    private static final Path LOGS = PROJECT.resolve("target/daemon-logs");

    private final Process process;
    private final Path log;

    private DaemonProcess(Process process, Path log) {
        this.process = process;
        this.log = log;
    }

    /**
     * Starts a daemon on the test database.
     *
     * @param name names the log file, target/daemon-logs/{name}.log
     * @param settings replace those in application.properties
     */
    public static DaemonProcess start(String name, Map<String, String> settings) {
        Path lib = PROJECT.resolve("target/lib");
        if (!Files.isDirectory(lib)) {
            throw new IllegalStateException(
                    "target/lib is missing; run the tests with `mvn verify`, which fills it at"
                            + " package");
        }
        Map<String, String> all = new LinkedHashMap<>();
        all.put("ipo.db.url", TestDatabase.url());
        all.put("ipo.db.user", TestDatabase.user());
        all.put("ipo.db.password", "");
        all.putAll(settings);

        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        // Tests start several daemons on a small machine: a quick start matters more than peak
        // speed, so one JIT tier and one GC thread.
        command.add("-XX:TieredStopAtLevel=1");
        command.add("-XX:+UseSerialGC");
        command.add("-cp");
        command.add("target/classes" + System.getProperty("path.separator") + "target/lib/*");
        all.forEach((key, value) -> command.add("-D" + key + "=" + value));
        command.add("dev.ipo.IpoMain");

        Path log = LOGS.resolve(name + ".log");
        try {
            Files.createDirectories(LOGS);
            Process process =
                    new ProcessBuilder(command)
                            .directory(PROJECT.toFile())
                            .redirectErrorStream(true)
                            .redirectOutput(log.toFile())
                            .start();
            return new DaemonProcess(process, log);
        } catch (IOException e) {
            throw new UncheckedIOException("The daemon process did not start: " + command, e);
        }
    }

    public long pid() {
        return process.pid();
    }

    /**
     * A SQL LIKE pattern matching this daemon's {@code claimed_by}, whose daemon id is
     * host/pid/random.
     */
    public String claimedByPattern() {
        return "%/" + pid() + "/%";
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** Kills the process with SIGKILL, as the kernel's OOM killer or {@code kill -9} would. */
    public void kill() {
        process.destroyForcibly();
        awaitExit(Duration.ofSeconds(10));
    }

    /**
     * Sends SIGTERM, as {@code docker stop} or systemd would, and waits for the process to end.
     *
     * @return the exit code
     */
    public int terminate(Duration timeout) {
        process.destroy();
        return awaitExit(timeout);
    }

    private int awaitExit(Duration timeout) {
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new IllegalStateException(
                        "The daemon process did not exit within " + timeout + "; see " + log);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        return process.exitValue();
    }

    /** Kills the process if a test left it running. */
    @Override
    public void close() {
        if (process.isAlive()) {
            kill();
        }
    }
}
