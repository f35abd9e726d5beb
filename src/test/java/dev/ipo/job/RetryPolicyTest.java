package dev.ipo.job;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ipo.http.HttpAttempt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Checks which outcomes are retried, and how long a job waits before its next attempt. */
class RetryPolicyTest {

    private final RetryPolicy policy = new RetryPolicy(1000, 60_000);

    @ParameterizedTest
    @ValueSource(ints = {200, 204, 301, 304})
    void should_be_done_when_server_answers_2xx_or_3xx(int status) {
        assertThat(policy.afterResponse(answer(status, -1), 1, 5).state()).isEqualTo(JobState.DONE);
    }

    @ParameterizedTest
    @ValueSource(ints = {408, 429, 500, 502, 503, 504})
    void should_wait_for_another_attempt_when_status_is_retryable(int status) {
        assertThat(policy.afterResponse(answer(status, -1), 1, 5).state())
                .isEqualTo(JobState.WAITING);
    }

    @ParameterizedTest
    @ValueSource(ints = {400, 401, 403, 404, 410, 422, 501})
    void should_fail_at_once_when_status_says_never(int status) {
        assertThat(policy.afterResponse(answer(status, -1), 1, 5))
                .isEqualTo(new Outcome(JobState.FAILED, 0));
    }

    @Test
    void should_fail_when_no_attempts_are_left() {
        assertThat(policy.afterResponse(answer(503, -1), 5, 5).state()).isEqualTo(JobState.FAILED);
        assertThat(policy.afterNoResponse(true, 5, 5).state()).isEqualTo(JobState.FAILED);
    }

    @Test
    void should_fail_at_once_when_the_job_itself_is_invalid() {
        assertThat(policy.afterNoResponse(false, 1, 5).state()).isEqualTo(JobState.FAILED);
    }

    @Test
    void should_double_the_delay_with_jitter_up_to_the_cap() {
        for (int attempt = 1; attempt <= 10; attempt++) {
            long ceiling = Math.min(60_000, 1000L << (attempt - 1));
            long delay = policy.backoff(attempt);
            assertThat(delay).isBetween(ceiling / 2, ceiling);
        }
    }

    @Test
    void should_wait_as_retry_after_says_within_the_cap() {
        assertThat(policy.afterResponse(answer(429, 7000), 1, 5))
                .isEqualTo(new Outcome(JobState.WAITING, 7000));
        assertThat(policy.afterResponse(answer(503, 3_600_000), 1, 5))
                .isEqualTo(new Outcome(JobState.WAITING, 60_000));
    }

    private static HttpAttempt answer(int status, long retryAfterMillis) {
        return new HttpAttempt(status, "{}", new byte[0], 0, false, retryAfterMillis);
    }
}
