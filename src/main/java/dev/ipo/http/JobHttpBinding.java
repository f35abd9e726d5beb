package dev.ipo.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vertx.core.AsyncResult;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import io.vertx.ext.web.client.impl.WebClientInternal;
import java.net.ProtocolException;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
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
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final TypeReference<Map<String, String>> STRING_MAP = new TypeReference<>() {};

    private final WebClientOptions clientOptions;
    private final int maxResponseBytes;
    private final long connectTimeoutMillis;
    private final int maxRedirects;

    /** How many HTTP clients share the connections; see {@link #httpClient}. */
    private static final int CLIENTS = 16;

    private HttpClient[] httpClients;

    /**
     * @param clientOptions pool size and TLS settings of the client this binding owns; its redirect
     *     settings are ignored
     * @param maxResponseBytes the most bytes of a response body kept; the rest is counted only
     * @param connectTimeoutMillis how long to wait for a TCP (and TLS) connection
     * @param maxRedirects the most redirects one attempt follows; 0 stores a redirect as the answer
     */
    public JobHttpBinding(
            WebClientOptions clientOptions,
            int maxResponseBytes,
            long connectTimeoutMillis,
            int maxRedirects) {
        // Redirects are followed by each job's JobCall, never by Vert.x; see JobCall for why.
        this.clientOptions = new WebClientOptions(clientOptions).setFollowRedirects(false);
        this.maxResponseBytes = maxResponseBytes;
        this.connectTimeoutMillis = connectTimeoutMillis;
        this.maxRedirects = maxRedirects;
    }

    @Override
    public HttpRequest<Buffer> prepareHttpRequest(VertxHttpEndpoint endpoint, Exchange exchange)
            throws JsonProcessingException {
        Map<?, ?> job = exchange.getProperty(JOB_PROPERTY, Map.class);
        RequestTarget target = RequestTarget.parse((String) job.get("url"));
        HttpMethod method = HttpMethod.valueOf((String) job.get("method"));
        long timeoutMillis = ((Number) job.get("timeout_ms")).longValue();
        String data = (String) job.get("data");

        Vertx vertx = endpoint.getComponent().getVertx();
        JobCall call =
                new JobCall(
                        vertx,
                        target,
                        method,
                        data.isEmpty() ? null : Buffer.buffer(data, "UTF-8"),
                        timeoutMillis,
                        maxRedirects);
        // A web client per job is a light wrapper around the one shared HTTP client and its
        // connection pool; it lets the job's call intercept its own requests only.
        long jobId = ((Number) job.get("id")).longValue();
        WebClient client = WebClient.wrap(httpClient(vertx, jobId), clientOptions);
        ((WebClientInternal) client).addInterceptor(call);
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

        // The call writes the data itself (see JobCall), so Camel sends the request without one.
        exchange.getMessage().setBody(null);
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
     * The binding keeps clients of its own, on the component's Vert.x instance, because the
     * endpoint's client is not reachable from outside Camel's package. There are several, each with
     * a share of the connections, because Vert.x 4.5 scans every pooled connection to a host for
     * each request: with thousands of connections to one host, that scan was half the daemon's CPU.
     * A job always uses the same client, chosen by its id.
     */
    private synchronized HttpClient httpClient(Vertx vertx, long jobId) {
        if (httpClients == null) {
            int connectionsPerClient =
                    Math.max(1, (clientOptions.getMaxPoolSize() + CLIENTS - 1) / CLIENTS);
            httpClients = new HttpClient[CLIENTS];
            for (int i = 0; i < CLIENTS; i++) {
                httpClients[i] =
                        vertx.createHttpClient(
                                new WebClientOptions(clientOptions)
                                        .setMaxPoolSize(connectionsPerClient));
            }
        }
        return httpClients[(int) Math.floorMod(jobId, (long) CLIENTS)];
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
