package dev.ipo.job;

import com.fasterxml.jackson.annotation.JsonRawValue;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;

/**
 * One attempt's result as store-results.sql reads it: an element of the JSON array it turns into
 * rows. Jackson writes the body as base64, which the query decodes.
 *
 * @param id the job
 * @param attempt the attempt number the claim gave; a store for an older attempt is ignored
 * @param daemonId the daemon that claimed the job; a store by another daemon is ignored
 * @param state the job's state after this attempt
 * @param responseHeaders a JSON object, written into the array as it is
 * @param retryDelayMs how long a waiting job waits for its next attempt
 * @param startedAtMs when the attempt began, in milliseconds since the epoch
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
record ResultRow(
        long id,
        int attempt,
        String daemonId,
        String state,
        int statusCode,
        @JsonRawValue String responseHeaders,
        byte[] responseBody,
        long responseSize,
        boolean responseTruncated,
        String error,
        long retryDelayMs,
        long startedAtMs) {}
