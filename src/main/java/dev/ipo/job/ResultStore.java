package dev.ipo.job;

import dev.ipo.http.HttpAttempt;
import dev.ipo.http.JobHttpBinding;
import java.net.ConnectException;
import java.net.UnknownHostException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeoutException;
import javax.net.ssl.SSLException;
import org.apache.camel.AsyncCallback;
import org.apache.camel.Exchange;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.support.AsyncProcessorSupport;
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
 * <p>When the store stops, this daemon will store no more results, so it hands back the jobs it
 * still holds: those whose calls outlasted the shutdown's grace period.
 */
public final class ResultStore extends AsyncProcessorSupport {

    private static final Logger LOG = LoggerFactory.getLogger(ResultStore.class);
    private static final long STORE_RETRY_MILLIS = 1000;

    private final ProducerTemplate producer;
    private final String storeEndpointUri;
    private final JobHandBack handBack;
    private final RetryPolicy retryPolicy;
    private final String daemonId;
    private final int batchSize;
    private final LinkedBlockingQueue<PendingResult> queue = new LinkedBlockingQueue<>();
    private Thread writer;
    private volatile boolean stopping;

    /**
     * @param storeEndpointUri the route that writes a list of results (see store-results.sql)
     * @param handBack returns the jobs still running when the store stops
     * @param batchSize the most results written in one transaction
     */
    public ResultStore(
            ProducerTemplate producer,
            String storeEndpointUri,
            JobHandBack handBack,
            RetryPolicy retryPolicy,
            String daemonId,
            int batchSize) {
        this.producer = producer;
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

        Map<String, Object> row = new HashMap<>();
        row.put("id", jobId);
        row.put("attempt", attempt);
        row.put("daemonId", daemonId);
        row.put(
                "startedAt",
                OffsetDateTime.ofInstant(
                        Instant.ofEpochMilli(exchange.getClock().getCreated()), ZoneOffset.UTC));
        HttpAttempt response = exchange.getMessage().getBody(HttpAttempt.class);
        Outcome outcome;
        if (response != null) {
            outcome = retryPolicy.afterResponse(response, attempt, maxAttempts);
            row.put("statusCode", response.statusCode());
            row.put("responseHeaders", response.headersJson());
            row.put("responseBody", response.body());
            row.put("responseSize", response.size());
            row.put("responseTruncated", response.truncated());
            row.put(
                    "error",
                    response.statusCode() >= 400 ? "server answered " + response.statusCode() : "");
        } else {
            Throwable cause = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
            boolean jobIsInvalid = cause instanceof IllegalArgumentException;
            outcome = retryPolicy.afterNoResponse(!jobIsInvalid, attempt, maxAttempts);
            row.put("statusCode", 0);
            row.put("responseHeaders", "{}");
            row.put("responseBody", new byte[0]);
            row.put("responseSize", 0L);
            row.put("responseTruncated", false);
            row.put("error", describe(cause));
        }
        row.put("state", outcome.state().columnValue());
        row.put("retryDelayMillis", outcome.retryDelayMillis());
        logOutcome(jobId, attempt, maxAttempts, outcome, row);

        if (!queue.offer(new PendingResult(row, exchange, callback))) {
            throw new IllegalStateException("result queue refused a result");
        }
        return false;
    }

    /** A short, clear sentence for the {@code error} column. */
    static String describe(Throwable cause) {
        if (cause == null) {
            return "the attempt failed for an unknown reason";
        }
        String message = String.valueOf(cause.getMessage());
        if (cause instanceof IllegalArgumentException) {
            return "invalid job: " + message;
        } else if (cause instanceof ConnectException) {
            return "could not connect: " + message;
        } else if (cause instanceof UnknownHostException) {
            return "unknown host: " + message;
        } else if (cause instanceof TimeoutException) {
            return "timed out: " + message;
        } else if (cause instanceof SSLException) {
            return "TLS failed: " + message;
        }
        return cause.getClass().getSimpleName() + ": " + message;
    }

    private static void logOutcome(
            long jobId, int attempt, int maxAttempts, Outcome outcome, Map<String, Object> row) {
        switch (outcome.state()) {
            case DONE ->
                    LOG.debug(
                            "Job is done. job_id={} attempt={}/{} status_code={}",
                            jobId,
                            attempt,
                            maxAttempts,
                            row.get("statusCode"));
            case WAITING ->
                    LOG.warn(
                            "Job attempt failed and will be retried. job_id={} attempt={}/{}"
                                    + " status_code={} retry_in_ms={} error={}",
                            jobId,
                            attempt,
                            maxAttempts,
                            row.get("statusCode"),
                            outcome.retryDelayMillis(),
                            row.get("error"));
            default ->
                    LOG.error(
                            "Job failed. job_id={} attempt={}/{} status_code={} error={}",
                            jobId,
                            attempt,
                            maxAttempts,
                            row.get("statusCode"),
                            row.get("error"));
        }
    }

    @Override
    protected void doStart() {
        stopping = false;
        writer = new Thread(this::writeBatches, "ipo-result-store");
        writer.setDaemon(true);
        writer.start();
    }

    @Override
    protected void doStop() {
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
            queue.drainTo(batch, batchSize - batch.size());
            store(batch);
            batch.clear();
        }
    }

    /** Writes one batch, retrying while the database is away unless IPO is stopping. */
    private void store(List<PendingResult> batch) {
        List<Map<String, Object>> rows = new ArrayList<>(batch.size());
        for (PendingResult result : batch) {
            rows.add(result.row());
        }
        while (true) {
            try {
                producer.sendBodyAndHeader(storeEndpointUri, rows, "jobCount", rows.size());
                break;
            } catch (RuntimeException e) {
                if (stopping) {
                    // After the grace period Camel routes nothing more; the jobs are handed back.
                    LOG.warn(
                            "Could not store results while stopping; their jobs will run again."
                                    + " results={} error={}",
                            rows.size(),
                            rootMessage(e));
                    break;
                }
                LOG.warn(
                        "Could not store results; retrying. results={} retry_in_ms={} error={}",
                        rows.size(),
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

    private record PendingResult(
            Map<String, Object> row, Exchange exchange, AsyncCallback callback) {}
}
