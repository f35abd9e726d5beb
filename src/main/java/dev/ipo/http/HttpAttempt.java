package dev.ipo.http;

/**
 * What one HTTP attempt got back from the server.
 *
 * @param statusCode the response status
 * @param headersJson the response headers as a JSON object, names in lower case
 * @param body the response body as received, at most the configured cap
 * @param size the body's full length in bytes, also past the cap
 * @param truncated whether {@code body} holds less than {@code size} bytes
 * @param retryAfterMillis the server's {@code Retry-After}, or -1 when it sent none
 */
public record HttpAttempt(
        int statusCode,
        String headersJson,
        byte[] body,
        long size,
        boolean truncated,
        long retryAfterMillis) {

    /** Stands for the answer of an attempt that got none: status 0, no headers, no body. */
    public static final HttpAttempt NO_ANSWER = new HttpAttempt(0, "{}", new byte[0], 0, false, -1);
}
