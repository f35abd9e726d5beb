package dev.ipo.support;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real HTTP server on loopback that records every request it receives. Paths choose the answer:
 *
 * <ul>
 *   <li>{@code /status/{code}}: that status, a text body and an {@code x-test} header
 *   <li>{@code /delay/{ms}}: 200 after that many milliseconds, without holding a thread
 *   <li>{@code /echo}: 200 with the request's body and content type
 *   <li>{@code /bytes}: 200 with the 256 byte values in order, as application/octet-stream
 *   <li>anything else: 200 with body {@code ok}
 * </ul>
 */
public final class TestHttpServer implements AutoCloseable {

    /** A request as the server saw it; header names in lower case. */
    public record Received(String method, String uri, Map<String, String> headers, byte[] body) {}

    private final Vertx vertx;
    private final HttpServer server;
    private final ConcurrentLinkedQueue<Received> received = new ConcurrentLinkedQueue<>();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicInteger mostInFlight = new AtomicInteger();

    private TestHttpServer(Vertx vertx) throws Exception {
        this.vertx = vertx;
        this.server =
                vertx.createHttpServer()
                        .requestHandler(this::handle)
                        .listen(0, "127.0.0.1")
                        .toCompletionStage()
                        .toCompletableFuture()
                        .get(10, TimeUnit.SECONDS);
    }

    public static TestHttpServer start() throws Exception {
        return new TestHttpServer(Vertx.vertx());
    }

    /** An absolute URL on this server. */
    public String url(String pathAndQuery) {
        return "http://127.0.0.1:" + server.actualPort() + pathAndQuery;
    }

    public int port() {
        return server.actualPort();
    }

    public List<Received> received() {
        return List.copyOf(received);
    }

    /** The most requests this server was answering at the same moment. */
    public int mostInFlight() {
        return mostInFlight.get();
    }

    public void reset() {
        received.clear();
        mostInFlight.set(0);
    }

    private void handle(HttpServerRequest request) {
        request.body()
                .onSuccess(
                        body -> {
                            Map<String, String> headers = new TreeMap<>();
                            request.headers()
                                    .forEach(
                                            h ->
                                                    headers.put(
                                                            h.getKey().toLowerCase(),
                                                            h.getValue()));
                            received.add(
                                    new Received(
                                            request.method().name(),
                                            request.uri(),
                                            headers,
                                            body.getBytes()));
                            mostInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
                            respond(request, body);
                        });
    }

    private void respond(HttpServerRequest request, Buffer body) {
        var response = request.response();
        response.endHandler(done -> inFlight.decrementAndGet());
        String path = request.path();
        if (path.startsWith("/status/")) {
            int status = Integer.parseInt(path.substring("/status/".length()));
            response.setStatusCode(status).putHeader("x-test", "yes").end("status " + status);
        } else if (path.startsWith("/delay/")) {
            long delay = Long.parseLong(path.substring("/delay/".length()));
            vertx.setTimer(delay, id -> response.end("waited " + delay));
        } else if (path.equals("/echo")) {
            String contentType = request.getHeader("content-type");
            if (contentType != null) {
                response.putHeader("content-type", contentType);
            }
            response.end(body);
        } else if (path.equals("/bytes")) {
            Buffer bytes = Buffer.buffer(256);
            for (int b = 0; b < 256; b++) {
                bytes.appendByte((byte) b);
            }
            response.putHeader("content-type", "application/octet-stream").end(bytes);
        } else {
            response.end("ok");
        }
    }

    @Override
    public void close() {
        vertx.close();
    }
}
