package dev.ipo.job;

import dev.ipo.http.HttpAttempt;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Decides, after each attempt, whether a job is done, failed for good, or waits for another try. No
 * answer at all and the statuses below are worth another try; any other 4xx or 5xx is not. Delays
 * grow exponentially from a base up to a cap, with jitter so that jobs that failed together do not
 * retry together; a server's {@code Retry-After} replaces the delay, within the cap.
 */
public final class RetryPolicy {

    /** Statuses that say "not now" rather than "never": timeouts, throttling, outages. */
    static final Set<Integer> RETRYABLE_STATUSES = Set.of(408, 429, 500, 502, 503, 504);

    private final long baseDelayMillis;
    private final long maxDelayMillis;

    public RetryPolicy(long baseDelayMillis, long maxDelayMillis) {
        this.baseDelayMillis = baseDelayMillis;
        this.maxDelayMillis = maxDelayMillis;
    }

    /** After the server answered. */
    public Outcome afterResponse(HttpAttempt response, int attempt, int maxAttempts) {
        int status = response.statusCode();
        if (status < 400) {
            return new Outcome(JobState.DONE, 0);
        }
        if (!RETRYABLE_STATUSES.contains(status) || attempt >= maxAttempts) {
            return new Outcome(JobState.FAILED, 0);
        }
        if (response.retryAfterMillis() >= 0) {
            return new Outcome(
                    JobState.WAITING, Math.min(maxDelayMillis, response.retryAfterMillis()));
        }
        return new Outcome(JobState.WAITING, backoff(attempt));
    }

    /**
     * After no answer came: the connection failed, timed out or broke.
     *
     * @param retryable false when the job itself is at fault and another try cannot help
     */
    public Outcome afterNoResponse(boolean retryable, int attempt, int maxAttempts) {
        if (!retryable || attempt >= maxAttempts) {
            return new Outcome(JobState.FAILED, 0);
        }
        return new Outcome(JobState.WAITING, backoff(attempt));
    }

    /** Exponential from the base, capped, then scaled by a random factor in [0.5, 1). */
    long backoff(int attempt) {
        int doublings = Math.min(attempt - 1, 30);
        long exponential = Math.min(maxDelayMillis, baseDelayMillis << doublings);
        double jitter = 0.5 + ThreadLocalRandom.current().nextDouble() / 2;
        return (long) (exponential * jitter);
    }
}
