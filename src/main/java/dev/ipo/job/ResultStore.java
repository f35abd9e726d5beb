package dev.ipo.job;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ipo.http.HttpAttempt;
import dev.ipo.http.JobHttpBinding;
import dev.ipo.http.RedirectException;
import io.netty.handler.codec.PrematureChannelClosureException;
import io.vertx.core.http.HttpClosedException;
import java.net.ConnectException;
import java.net.ProtocolException;
import java.net.UnknownHostException;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeoutException;
import javax.net.ssl.SSLException;
import org.apache.camel.AsyncCallback;
import org.apache.camel.AsyncProcessor;
import org.apache.camel.Exchange;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.support.AsyncCallbackToCompletableFutureAdapter;
import org.apache.camel.support.AsyncProcessorHelper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stores each attempt's result in its job's row, many rows per transaction.
 *
 * <p>Results queue up while the previous batch is being written and go out together in the next
 * one, so a single job is stored at once and a flood is stored in few commits, with no timer in
 * between. An exchange stays in flight until its result is committed, which lets Camel's graceful
 * shutdown wait for results as well as for HTTP calls.
 *
 * <p>It is deliberately not a Camel service: a route that uses it is stopped and started again when
 * its file is reloaded, and that must not stop the writer. {@link #start()} and {@link #stop()}
 * follow the Camel context instead.
 *
 * <p>When the store stops, this daemon will store no more results, so it hands back the jobs it
 * still holds: those whose calls outlasted the shutdown's grace period.
 */
public final class ResultStore implements AsyncProcessor {

    private static final Logger LOG = LoggerFactory.getLogger(ResultStore.class);
    private static final long STORE_RETRY_MILLIS = 1000;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Keeps one statement's JSON within reach of memory when responses are large. */
    private static final long MAX_BATCH_BODY_BYTES = 16 * 1024 * 1024;

    private final ProducerTemplate producer;
    private final JobCapacity capacity;
    private final String storeEndpointUri;
    private final JobHandBack handBack;
    private final RetryPolicy retryPolicy;
    private final String daemonId;
    private final int batchSize;
    private final LinkedBlockingQueue<PendingResult> queue = new LinkedBlockingQueue<>();
    private Thread writer;
    private volatile boolean stopping;

    /**
     * @param capacity the in-flight cap; the store route frees the places of stored results, and
     *     this class those of results the database refused
     * @param storeEndpointUri the route that writes a list of results (see store-results.sql)
     * @param handBack returns the jobs still running when the store stops
     * @param batchSize the most results written in one transaction
     */
    public ResultStore(
            ProducerTemplate producer,
            JobCapacity capacity,
            String storeEndpointUri,
            JobHandBack handBack,
            RetryPolicy retryPolicy,
            String daemonId,
            int batchSize) {
        this.producer = producer;
        this.capacity = capacity;
        this.storeEndpointUri = storeEndpointUri;
        this.handBack = handBack;
        this.retryPolicy = retryPolicy;
        this.daemonId = daemonId;
        this.batchSize = batchSize;
    }

    /** Takes the result of the exchange's attempt: an {@link HttpAttempt} body or an exception. */
    @Override
    public boolean process(Exchange exchange, AsyncCallback callback) {
        Map<?, ?> job = exchange.getProperty(JobHttpBinding.JOB_PROPERTY, Map.class);
        long jobId = ((Number) job.get("id")).longValue();
        int attempt = ((Number) job.get("attempts")).intValue();
        int maxAttempts = ((Number) job.get("max_attempts")).intValue();
        long startedAt = exchange.getClock().getCreated();

        HttpAttempt response = exchange.getMessage().getBody(HttpAttempt.class);
        Outcome outcome;
        HttpAttempt answer;
        String error;
        if (response != null) {
            outcome = retryPolicy.afterResponse(response, attempt, maxAttempts);
            answer = response;
            error = response.statusCode() >= 400 ? "server answered " + response.statusCode() : "";
        } else {
            Throwable cause = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
            boolean jobIsInvalid = cause instanceof IllegalArgumentException;
            outcome = retryPolicy.afterNoResponse(!jobIsInvalid, attempt, maxAttempts);
            answer = HttpAttempt.NO_ANSWER;
            error = oneLine(describe(cause));
        }
        ResultRow row =
                new ResultRow(
                        jobId,
                        attempt,
                        daemonId,
                        outcome.state().columnValue(),
                        answer.statusCode(),
                        answer.headersJson(),
                        answer.body(),
                        answer.size(),
                        answer.truncated(),
                        error,
                        outcome.retryDelayMillis(),
                        startedAt);
        logOutcome(row, maxAttempts, outcome);

        if (!queue.offer(new PendingResult(row, callback))) {
            throw new IllegalStateException("result queue refused a result");
        }
        return false;
    }

    /**
     * A short, clear sentence for the {@code error} column. Vert.x and Netty wrap the real cause (a
     * deadline's TimeoutException arrives inside a StreamResetException, a TLS error inside "Failed
     * to create SSL connection"), so the whole chain is searched, outermost first.
     */
    static String describe(Throwable cause) {
        if (cause == null) {
            return "the attempt failed for an unknown reason";
        }
        if (cause instanceof IllegalArgumentException) {
            // Only thrown while the request is prepared; see JobHttpBinding.handleResponse.
            return "invalid job: " + cause.getMessage();
        }
        Throwable root = cause;
        for (Throwable t = cause; t != null; t = t.getCause() == t ? null : t.getCause()) {
            root = t;
        }
        for (Throwable t = cause; t != null; t = t.getCause() == t ? null : t.getCause()) {
            String message = String.valueOf(t.getMessage());
            if (t instanceof ConnectException) {
                return "could not connect: " + message;
            } else if (t instanceof UnknownHostException) {
                return "unknown host: " + message;
            } else if (t instanceof TimeoutException) {
                return "timed out: " + message;
            } else if (t instanceof RedirectException) {
                return "redirect failed: " + message;
            } else if (t instanceof ProtocolException) {
                return "not a valid HTTP answer: " + message;
            } else if (t instanceof HttpClosedException
                    || t instanceof PrematureChannelClosureException) {
                return "connection closed before the answer was complete: " + message;
            } else if (t instanceof SSLException) {
                // The innermost cause says why, e.g. "unable to find valid certification path".
                return "TLS failed: " + root.getMessage();
            }
        }
        return cause.getClass().getSimpleName() + ": " + cause.getMessage();
    }

    /**
     * Escapes control characters, so that a URL, header or Location from a user or a server cannot
     * break the error column into several lines or forge a line in the log.
     */
    private static String oneLine(String text) {
        StringBuilder line = new StringBuilder(text.length());
        for (char c : text.toCharArray()) {
            switch (c) {
                case '\r' -> line.append("\\r");
                case '\n' -> line.append("\\n");
                case '\t' -> line.append("\\t");
                default -> {
                    if (Character.isISOControl(c)) {
                        line.append(String.format("\\u%04x", (int) c));
                    } else {
                        line.append(c);
                    }
                }
            }
        }
        return line.toString();
    }

    private static void logOutcome(ResultRow row, int maxAttempts, Outcome outcome) {
        switch (outcome.state()) {
            case DONE ->
                    LOG.debug(
                            "Job is done. job_id={} attempt={}/{} status_code={}",
                            row.id(),
                            row.attempt(),
                            maxAttempts,
                            row.statusCode());
            case WAITING ->
                    LOG.warn(
                            "Job attempt failed and will be retried. job_id={} attempt={}/{}"
                                    + " status_code={} retry_in_ms={} error={}",
                            row.id(),
                            row.attempt(),
                            maxAttempts,
                            row.statusCode(),
                            outcome.retryDelayMillis(),
                            row.error());
            default ->
                    LOG.error(
                            "Job failed. job_id={} attempt={}/{} status_code={} error={}",
                            row.id(),
                            row.attempt(),
                            maxAttempts,
                            row.statusCode(),
                            row.error());
        }
    }

    @Override
    public void process(Exchange exchange) throws Exception {
        AsyncProcessorHelper.process(this, exchange);
    }

    @Override
    public CompletableFuture<Exchange> processAsync(Exchange exchange) {
        var callback = new AsyncCallbackToCompletableFutureAdapter<>(exchange);
        process(exchange, callback);
        return callback.getFuture();
    }

    /** Starts the writer thread. */
    public void start() {
        stopping = false;
        writer = new Thread(this::writeBatches, "ipo-result-store");
        writer.setDaemon(true);
        writer.start();
    }

    /** Writes what is queued, stops the writer thread and hands back unfinished jobs. */
    public void stop() {
        stopping = true;
        writer.interrupt();
        // Camel interrupts the thread stopping this when the grace period ends. The last batch
        // and the hand-back must run all the same, so wait uninterrupted and restore the flag.
        boolean interrupted = Thread.interrupted();
        try {
            writer.join(10_000);
        } catch (InterruptedException e) {
            interrupted = true;
        }
        handBack.handBackRunningJobs();
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private void writeBatches() {
        List<PendingResult> batch = new ArrayList<>(batchSize);
        while (!stopping || !queue.isEmpty()) {
            try {
                batch.add(queue.take());
            } catch (InterruptedException stopRequested) {
                if (queue.isEmpty()) {
                    return;
                }
                batch.add(queue.poll());
            }
            long bodyBytes = batch.get(0).row().responseBody().length;
            PendingResult next;
            while (batch.size() < batchSize
                    && bodyBytes < MAX_BATCH_BODY_BYTES
                    && (next = queue.poll()) != null) {
                batch.add(next);
                bodyBytes += next.row().responseBody().length;
            }
            // Rows locked in id order, as every batch does, cannot deadlock with each other.
            batch.sort(Comparator.comparingLong(result -> result.row().id()));
            store(batch);
            batch.clear();
        }
    }

    /**
     * Writes one batch, retrying while the database is away unless IPO is stopping. A row the
     * database refuses (a data or constraint error) would fail every retry of its batch, so the
     * batch is then written row by row and only the refused row is dropped.
     */
    private void store(List<PendingResult> batch) {
        String results;
        try {
            results = JSON.writeValueAsString(batch.stream().map(PendingResult::row).toList());
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("results could not be written as JSON", e);
        }
        Map<String, Object> headers = Map.of("results", results, "jobCount", batch.size());
        while (true) {
            try {
                producer.sendBodyAndHeaders(storeEndpointUri, null, headers);
                break;
            } catch (RuntimeException e) {
                if (isRefusedData(e) && batch.size() > 1) {
                    for (PendingResult result : batch) {
                        store(List.of(result));
                    }
                    return;
                } else if (isRefusedData(e)) {
                    LOG.error(
                            "The database refused a result; the job runs again when its lease"
                                    + " expires. job_id={} error={}",
                            batch.get(0).row().id(),
                            e.getMessage());
                    capacity.release(1);
                    break;
                } else if (stopping) {
                    // After the grace period Camel routes nothing more; the jobs are handed back.
                    LOG.warn(
                            "Could not store results while stopping; their jobs will run again."
                                    + " results={} error={}",
                            batch.size(),
                            rootMessage(e));
                    break;
                }
                LOG.warn(
                        "Could not store results; retrying. results={} retry_in_ms={} error={}",
                        batch.size(),
                        STORE_RETRY_MILLIS,
                        rootMessage(e));
                try {
                    Thread.sleep(STORE_RETRY_MILLIS);
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    stopping = true;
                }
            }
        }
        for (PendingResult result : batch) {
            result.callback().done(false);
        }
    }

    /** The message of the innermost cause: the driver's or the pool's, not Camel's wrapper. */
    private static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root.getMessage();
    }

    /** Whether PostgreSQL refused the data itself (SQLSTATE class 22 or 23), not the connection. */
    private static boolean isRefusedData(Throwable error) {
        for (Throwable cause = error; cause != null; cause = cause.getCause()) {
            if (cause instanceof SQLException sql && sql.getSQLState() != null) {
                String state = sql.getSQLState();
                return state.startsWith("22") || state.startsWith("23");
            }
        }
        return false;
    }

    private record PendingResult(ResultRow row, AsyncCallback callback) {}
}
