package dev.ipo.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vertx.core.AsyncResult;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import io.vertx.ext.web.client.impl.HttpContext;
import io.vertx.ext.web.client.impl.WebClientInternal;
import java.net.ProtocolException;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeoutException;
import org.apache.camel.Exchange;
import org.apache.camel.component.vertx.http.DefaultVertxHttpBinding;
import org.apache.camel.component.vertx.http.VertxHttpEndpoint;

/**
 * Maps a claimed job onto camel-vertx-http and its answer back: the request goes exactly to the
 * job's URL with only the job's own headers (no Camel header ever reaches the remote server), and
 * the response comes back as an {@link HttpAttempt}, whatever its status.
 *
 * <p>The job is read from the exchange property {@value #JOB_PROPERTY}: the map the claim query
 * returned, with {@code url}, {@code method}, {@code headers} (JSON text), {@code data} and {@code
 * timeout_ms}.
 */
public final class JobHttpBinding extends DefaultVertxHttpBinding {

    /** The exchange property that holds the claimed job's row. */
    public static final String JOB_PROPERTY = "ipoJob";

    private static final String BODY_PROPERTY = "ipoResponseBody";
    private static final String DEADLINE_KEY = "ipo.deadlineNanos";
    private static final String TIMER_KEY = "ipo.deadlineTimer";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final TypeReference<Map<String, String>> STRING_MAP = new TypeReference<>() {};

    private final WebClientOptions clientOptions;
    private final int maxResponseBytes;
    private final long connectTimeoutMillis;
    private WebClient client;

    /**
     * @param clientOptions pool size, TLS and redirect settings of the client this binding owns
     * @param maxResponseBytes the most bytes of a response body kept; the rest is counted only
     * @param connectTimeoutMillis how long to wait for a TCP (and TLS) connection
     */
    public JobHttpBinding(
            WebClientOptions clientOptions, int maxResponseBytes, long connectTimeoutMillis) {
        this.clientOptions = clientOptions;
        this.maxResponseBytes = maxResponseBytes;
        this.connectTimeoutMillis = connectTimeoutMillis;
    }

    @Override
    public HttpRequest<Buffer> prepareHttpRequest(VertxHttpEndpoint endpoint, Exchange exchange)
            throws JsonProcessingException {
        Map<?, ?> job = exchange.getProperty(JOB_PROPERTY, Map.class);
        RequestTarget target = RequestTarget.parse((String) job.get("url"));
        HttpMethod method = HttpMethod.valueOf((String) job.get("method"));
        long timeoutMillis = ((Number) job.get("timeout_ms")).longValue();

        WebClient client = client(endpoint.getComponent().getVertx());
        CappedBody body = new CappedBody(maxResponseBytes);
        exchange.setProperty(BODY_PROPERTY, body);
        HttpRequest<Buffer> request =
                client.request(method, target.port(), target.host(), target.requestUri())
                        .ssl(target.secure())
                        .timeout(timeoutMillis)
                        .connectTimeout(Math.min(connectTimeoutMillis, timeoutMillis))
                        .as(body);
        MultiMap headers = request.headers();
        JSON.readValue((String) job.get("headers"), STRING_MAP).forEach(headers::add);
        if (!headers.contains(HttpHeaders.HOST)) {
            headers.set(HttpHeaders.HOST, target.authority());
        }

        String data = (String) job.get("data");
        exchange.getMessage().setBody(data.isEmpty() ? null : Buffer.buffer(data, "UTF-8"));
        return request;
    }

    @Override
    public void handleResponse(
            VertxHttpEndpoint endpoint,
            Exchange exchange,
            AsyncResult<HttpResponse<Buffer>> response)
            throws JsonProcessingException {
        if (response.failed()) {
            Throwable cause = response.cause();
            // The request was valid when it left (prepareHttpRequest checks the job), so an
            // invalid argument now comes from decoding the server's answer, not from the job.
            if (cause instanceof IllegalArgumentException) {
                ProtocolException invalidAnswer = new ProtocolException(cause.getMessage());
                invalidAnswer.initCause(cause);
                cause = invalidAnswer;
            }
            exchange.setException(cause);
            return;
        }
        HttpResponse<Buffer> result = response.result();
        Map<String, String> headers = new TreeMap<>();
        for (Map.Entry<String, String> header : result.headers()) {
            // Repeated headers are joined as HTTP allows; Set-Cookie is the known exception.
            headers.merge(
                    header.getKey().toLowerCase(Locale.ROOT),
                    header.getValue(),
                    (first, next) -> first + ", " + next);
        }
        CappedBody body = exchange.getProperty(BODY_PROPERTY, CappedBody.class);
        exchange.getMessage()
                .setBody(
                        new HttpAttempt(
                                result.statusCode(),
                                JSON.writeValueAsString(headers),
                                body.keptBytes(),
                                body.receivedBytes(),
                                body.truncated(),
                                retryAfterMillis(result.getHeader("Retry-After"))));
    }

    /**
     * The binding keeps a client of its own, on the component's Vert.x instance, because the
     * endpoint's client is not reachable from outside Camel's package.
     */
    private synchronized WebClient client(Vertx vertx) {
        if (client == null) {
            client = WebClient.create(vertx, clientOptions);
            ((WebClientInternal) client).addInterceptor(context -> enforceDeadline(context, vertx));
        }
        return client;
    }

    /**
     * Vert.x's own timeouts restart on every byte received, so a server that trickles one byte a
     * second would never be cut off. This interceptor holds each request, redirects included, to
     * one deadline: the job's timeout from the moment the request is prepared.
     */
    private static void enforceDeadline(HttpContext<?> context, Vertx vertx) {
        switch (context.phase()) {
            case PREPARE_REQUEST -> {
                long timeoutMillis = context.request().timeout();
                context.set(DEADLINE_KEY, System.nanoTime() + timeoutMillis * 1_000_000);
            }
            case SEND_REQUEST -> {
                cancelDeadline(context, vertx);
                long deadline = context.<Long>get(DEADLINE_KEY);
                long remainingMillis = Math.max(1, (deadline - System.nanoTime()) / 1_000_000);
                long timeoutMillis = context.request().timeout();
                var clientRequest = context.clientRequest();
                long timer =
                        vertx.setTimer(
                                remainingMillis,
                                id ->
                                        clientRequest.reset(
                                                0,
                                                new TimeoutException(
                                                        "no complete response within "
                                                                + timeoutMillis
                                                                + " ms")));
                context.set(TIMER_KEY, timer);
            }
            case DISPATCH_RESPONSE, FAILURE -> cancelDeadline(context, vertx);
            default -> {}
        }
        context.next();
    }

    private static void cancelDeadline(HttpContext<?> context, Vertx vertx) {
        Long timer = context.get(TIMER_KEY);
        if (timer != null) {
            vertx.cancelTimer(timer);
            context.set(TIMER_KEY, null);
        }
    }

    /** Reads {@code Retry-After} as seconds or as an HTTP date; -1 when absent or unreadable. */
    static long retryAfterMillis(String retryAfter) {
        if (retryAfter == null || retryAfter.isBlank()) {
            return -1;
        }
        String value = retryAfter.trim();
        try {
            return Math.max(0, Long.parseLong(value)) * 1000;
        } catch (NumberFormatException notSeconds) {
            try {
                ZonedDateTime when =
                        ZonedDateTime.parse(value, DateTimeFormatter.RFC_1123_DATE_TIME);
                return Math.max(0, Duration.between(ZonedDateTime.now(), when).toMillis());
            } catch (DateTimeParseException notDate) {
                return -1;
            }
        }
    }
}
