package dev.ipo.http;

import io.vertx.core.Handler;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.ext.web.client.impl.HttpContext;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeoutException;

/**
 * One job's HTTP call, from its first request to the last byte of its final answer, redirects
 * included. It is the interceptor of a web client made for this job alone, which lets it keep the
 * job's deadline, body and redirect count in plain fields.
 *
 * <p>IPO follows redirects here instead of letting Vert.x do it, because Vert.x follows only GET
 * and HEAD, resends the body when a redirect turns a POST into a GET, and decodes escapes such as
 * {@code %2F} in the {@code Location}. Here redirects follow the Fetch standard, as browsers do:
 * 307 and 308 keep the method and body; 303, and 301 or 302 after a POST, become a GET without
 * body; credentials and a user-set {@code Host} stay behind when a redirect leaves the origin.
 */
final class JobCall implements Handler<HttpContext<?>> {

    private static final Set<Integer> REDIRECTS = Set.of(301, 302, 303, 307, 308);

    /** Headers that describe a body, dropped with it. */
    private static final List<String> BODY_HEADERS =
            List.of("content-type", "content-encoding", "content-language", "content-location");

    /** Credentials meant for the job's own origin only. */
    private static final List<String> CREDENTIAL_HEADERS = List.of("authorization", "cookie");

    private final Vertx vertx;
    private final long timeoutMillis;
    private final long deadlineNanos;
    private final int maxRedirects;
    private RequestTarget target;
    private HttpMethod method;
    private Buffer data;
    private int redirects;
    private long deadlineTimer = -1;

    /**
     * @param data the request body, or null for none
     * @param timeoutMillis the job's timeout, from now to the last byte, redirects included
     * @param maxRedirects the most redirects followed; 0 stores a redirect as the answer
     */
    JobCall(
            Vertx vertx,
            RequestTarget target,
            HttpMethod method,
            Buffer data,
            long timeoutMillis,
            int maxRedirects) {
        this.vertx = vertx;
        this.target = target;
        this.method = method;
        this.data = data;
        this.timeoutMillis = timeoutMillis;
        this.deadlineNanos = System.nanoTime() + timeoutMillis * 1_000_000;
        this.maxRedirects = maxRedirects;
    }

    @Override
    public void handle(HttpContext<?> context) {
        switch (context.phase()) {
            case SEND_REQUEST -> send(context.clientRequest());
            case RECEIVE_RESPONSE -> {
                if (tookAsRedirect(context)) {
                    return;
                }
            }
            case DISPATCH_RESPONSE, FAILURE -> cancelDeadline();
            default -> {}
        }
        context.next();
    }

    private void send(HttpClientRequest request) {
        armDeadline(request);
        // Written here rather than handed to the web client, which would send it again after a
        // redirect that turned the request into a GET.
        if (data != null) {
            request.putHeader(HttpHeaders.CONTENT_LENGTH, String.valueOf(data.length()));
            request.write(data);
        }
    }

    /**
     * Follows the response when it is a redirect, or fails the call when the redirect cannot be
     * followed. Returns false for any other response, which is the job's answer.
     */
    private boolean tookAsRedirect(HttpContext<?> context) {
        HttpClientResponse response = context.clientResponse();
        String location = response.getHeader(HttpHeaders.LOCATION);
        int status = response.statusCode();
        if (maxRedirects == 0 || location == null || !REDIRECTS.contains(status)) {
            return false;
        }
        cancelDeadline();
        // Nobody reads a redirect's body; closing its connection drops it at once, however large.
        // The handler keeps Vert.x from logging the reset this causes as an error.
        response.exceptionHandler(expected -> {});
        response.request().reset();
        if (redirects == maxRedirects) {
            context.fail(
                    new RedirectException(
                            "stopped after "
                                    + maxRedirects
                                    + " redirects; the last pointed to "
                                    + location));
            return true;
        }
        RequestTarget next;
        try {
            next = target.resolve(location);
        } catch (IllegalArgumentException e) {
            context.fail(new RedirectException("cannot follow it: " + e.getMessage()));
            return true;
        }
        redirects++;

        RequestOptions options = new RequestOptions(context.requestOptions());
        MultiMap headers = options.getHeaders();
        if (headers == null) {
            headers = MultiMap.caseInsensitiveMultiMap();
            options.setHeaders(headers);
        }
        boolean postToGet = method == HttpMethod.POST && (status == 301 || status == 302);
        boolean seeOther = status == 303 && method != HttpMethod.GET && method != HttpMethod.HEAD;
        if (postToGet || seeOther) {
            method = HttpMethod.GET;
            data = null;
            BODY_HEADERS.forEach(headers::remove);
        }
        if (!next.sameOrigin(target)) {
            CREDENTIAL_HEADERS.forEach(headers::remove);
            headers.set(HttpHeaders.HOST, next.authority());
        }
        target = next;
        options.setMethod(method)
                .setHost(next.host())
                .setPort(next.port())
                .setSsl(next.secure())
                .setURI(next.requestUri())
                // The deadline timer starts only once connected; the connect must fit too.
                .setConnectTimeout(Math.min(options.getConnectTimeout(), remainingMillis()));
        context.createRequest(options);
        return true;
    }

    /**
     * Vert.x's own timeouts restart on every byte received, so a server that trickles one byte a
     * second would never be cut off. This holds every request of the call, redirects included, to
     * one deadline: the job's timeout from the moment the call was prepared.
     */
    private void armDeadline(HttpClientRequest request) {
        cancelDeadline();
        deadlineTimer =
                vertx.setTimer(
                        remainingMillis(),
                        id ->
                                request.reset(
                                        0,
                                        new TimeoutException(
                                                "no complete response within "
                                                        + timeoutMillis
                                                        + " ms")));
    }

    private long remainingMillis() {
        return Math.max(1, (deadlineNanos - System.nanoTime()) / 1_000_000);
    }

    private void cancelDeadline() {
        if (deadlineTimer >= 0) {
            vertx.cancelTimer(deadlineTimer);
            deadlineTimer = -1;
        }
    }
}
