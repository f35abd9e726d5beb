package dev.ipo.support;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.PfxOptions;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.GZIPOutputStream;

/**
 * A real HTTP server on loopback that records every request it receives. Paths choose the answer:
 *
 * <ul>
 *   <li>{@code /status/{code}}: that status, a text body and an {@code x-test} header
 *   <li>{@code /delay/{ms}}: 200 after that many milliseconds, without holding a thread
 *   <li>{@code /echo}: 200 with the request's body and content type
 *   <li>{@code /bytes}: 200 with the 256 byte values in order, as application/octet-stream
 *   <li>{@code /bytes/{n}}: 200 with {@link #pattern(int) n patterned bytes}
 *   <li>{@code /latin1}: 200 with {@link #LATIN1_TEXT} in ISO-8859-1, which is not valid UTF-8
 *   <li>{@code /gzip}: 200 with {@link #GZIP_TEXT} gzip-compressed, as {@code Content-Encoding:
 *       gzip}
 *   <li>{@code /redirect/{code}?to={location}}: that status with that {@code Location}
 *   <li>{@code /loop}: 302 back to {@code /loop}, for ever
 *   <li>anything else: 200 with body {@code ok}
 * </ul>
 */
public final class TestHttpServer implements AutoCloseable {

    /** A request as the server saw it; header names in lower case. */
    public record Received(String method, String uri, Map<String, String> headers, byte[] body) {}

    /** What {@code /latin1} sends, encoded in ISO-8859-1. */
    public static final String LATIN1_TEXT = "café crème, 5 €? non: 5 £";

    /** What {@code /gzip} sends, compressed. */
    public static final String GZIP_TEXT = "compressed ".repeat(100);

    private final Vertx vertx;
    private final HttpServer server;
    private final String baseUrl;
    private final ConcurrentLinkedQueue<Received> received = new ConcurrentLinkedQueue<>();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicInteger mostInFlight = new AtomicInteger();

    private TestHttpServer(Vertx vertx, HttpServerOptions options, String host) throws Exception {
        this.vertx = vertx;
        this.server =
                vertx.createHttpServer(options)
                        .requestHandler(this::handle)
                        .listen(0, host)
                        .toCompletionStage()
                        .toCompletableFuture()
                        .get(10, TimeUnit.SECONDS);
        String authority = host.contains(":") ? "[" + host + "]" : host;
        this.baseUrl =
                (options.isSsl() ? "https://" : "http://") + authority + ":" + server.actualPort();
    }

    public static TestHttpServer start() throws Exception {
        return start("127.0.0.1");
    }

    /** Starts a server on another loopback address, such as {@code ::1}. */
    public static TestHttpServer start(String host) throws Exception {
        return new TestHttpServer(Vertx.vertx(), new HttpServerOptions(), host);
    }

    /** Starts an HTTPS server on 127.0.0.1 with a certificate no authority signed. */
    public static TestHttpServer startWithSelfSignedCertificate() throws Exception {
        HttpServerOptions options =
                new HttpServerOptions()
                        .setSsl(true)
                        .setKeyCertOptions(selfSignedKeyStore("127.0.0.1"));
        return new TestHttpServer(Vertx.vertx(), options, "127.0.0.1");
    }

    /**
     * Makes a key and self-signed certificate with the JDK's keytool. Vert.x's own
     * SelfSignedCertificate needs Bouncy Castle or JDK internals that Java 17 keeps closed.
     */
    private static PfxOptions selfSignedKeyStore(String ip) throws Exception {
        Path directory = Files.createTempDirectory("ipo-test-tls");
        Path keyStore = directory.resolve("server.p12");
        // Deleted in reverse order of registration: the file, then its directory.
        directory.toFile().deleteOnExit();
        keyStore.toFile().deleteOnExit();
        String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
        Process process =
                new ProcessBuilder(
                                keytool,
                                "-genkeypair",
                                "-alias",
                                "server",
                                "-keyalg",
                                "EC",
                                "-validity",
                                "2",
                                "-dname",
                                "CN=" + ip,
                                "-ext",
                                "SAN=ip:" + ip,
                                "-storetype",
                                "PKCS12",
                                "-keystore",
                                keyStore.toString(),
                                "-storepass",
                                "test-only")
                        .redirectErrorStream(true)
                        .start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
            throw new IllegalStateException("keytool could not make a certificate: " + output);
        }
        return new PfxOptions().setPath(keyStore.toString()).setPassword("test-only");
    }

    /** An absolute URL on this server. */
    public String url(String pathAndQuery) {
        return baseUrl + pathAndQuery;
    }

    /** {@code n} bytes that run through every byte value and do not repeat every 256. */
    public static byte[] pattern(int n) {
        byte[] bytes = new byte[n];
        for (int i = 0; i < n; i++) {
            bytes[i] = (byte) (i + i / 256);
        }
        return bytes;
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
        } else if (path.startsWith("/bytes/")) {
            int n = Integer.parseInt(path.substring("/bytes/".length()));
            // Set by hand so that a HEAD answer carries it too, as servers usually do.
            response.putHeader("content-type", "application/octet-stream")
                    .putHeader("content-length", String.valueOf(n))
                    .end(Buffer.buffer(pattern(n)));
        } else if (path.equals("/latin1")) {
            response.putHeader("content-type", "text/plain; charset=iso-8859-1")
                    .end(Buffer.buffer(LATIN1_TEXT.getBytes(StandardCharsets.ISO_8859_1)));
        } else if (path.equals("/gzip")) {
            response.putHeader("content-type", "text/plain; charset=utf-8")
                    .putHeader("content-encoding", "gzip")
                    .end(Buffer.buffer(gzip(GZIP_TEXT.getBytes(StandardCharsets.UTF_8))));
        } else if (path.startsWith("/redirect/")) {
            int status = Integer.parseInt(path.substring("/redirect/".length()));
            response.setStatusCode(status)
                    .putHeader("location", request.getParam("to"))
                    .end("moved");
        } else if (path.equals("/loop")) {
            response.setStatusCode(302).putHeader("location", "/loop").end("again");
        } else {
            response.end("ok");
        }
    }

    private static byte[] gzip(byte[] bytes) {
        ByteArrayOutputStream compressed = new ByteArrayOutputStream();
        try (GZIPOutputStream out = new GZIPOutputStream(compressed)) {
            out.write(bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return compressed.toByteArray();
    }

    @Override
    public void close() {
        vertx.close();
    }
}
