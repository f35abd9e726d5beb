package dev.ipo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThatCode;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ipo.support.Daemon;
import dev.ipo.support.Jobs;
import dev.ipo.support.RawResponseServer;
import dev.ipo.support.TestDatabase;
import dev.ipo.support.TestHttpServer;
import dev.ipo.support.TestHttpServer.Received;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Checks that hostile or unusual URLs, bodies, answers and servers each leave their job in a clear
 * final state, and that the daemon goes on serving other jobs after every one of them.
 */
class HostileInputIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int CAP_BYTES = 1024 * 1024;
    private static final int MAX_REDIRECTS = 5;

    /** A small response cap, so that a 20 MB answer is cut; fewer redirects, so loops end fast. */
    private static final Map<String, String> SETTINGS =
            Map.of(
                    "ipo.http.max-response-bytes", String.valueOf(CAP_BYTES),
                    "ipo.http.max-redirects", String.valueOf(MAX_REDIRECTS));

    private static TestHttpServer server;
    private static TestHttpServer otherServer;
    private static Daemon daemon;

    @BeforeAll
    static void startDaemon() throws Exception {
        server = TestHttpServer.start();
        otherServer = TestHttpServer.start();
        daemon = Daemon.start(SETTINGS);
    }

    @AfterAll
    static void stopDaemon() {
        daemon.close();
        otherServer.close();
        server.close();
    }

    @BeforeEach
    void emptyQueue() throws SQLException {
        TestDatabase.clear();
        server.reset();
        otherServer.reset();
    }

    /** Whatever the test threw at it, the daemon must still run an ordinary job. */
    @AfterEach
    void daemonStillServesOtherJobs() throws Exception {
        long id = Jobs.insert(server.url("/status/200?after=hostile-input"));

        assertThat(Jobs.awaitEnded(id).get("state")).isEqualTo("done");
    }

    // URLs

    @Test
    void should_percent_encode_spaces_and_unicode_in_the_url() throws Exception {
        long id = Jobs.insert(server.url("/files/my report ü €.txt?owner=jürgen smith"));

        Map<String, Object> row = Jobs.awaitEnded(id);

        assertThat(row.get("state")).isEqualTo("done");
        assertThat(server.received())
                .singleElement()
                .extracting(Received::uri)
                .isEqualTo("/files/my%20report%20%C3%BC%20%E2%82%AC.txt?owner=j%C3%BCrgen%20smith");
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "/search?q=a%2Bb%20c%26d=e&plus=1+2&empty=&euro=%E2%82%AC",
                "/a%2Fb/c%3Fd?x=%3D%25",
                "/p;matrix=1/q?list=a,b&sort=-name&x[]=1&x[]=2"
            })
    void should_send_the_path_and_query_exactly_as_written(String pathAndQuery) throws Exception {
        long id = Jobs.insert(server.url(pathAndQuery));

        Jobs.awaitEnded(id);

        assertThat(server.received())
                .singleElement()
                .extracting(Received::uri)
                .isEqualTo(pathAndQuery);
    }

    @Test
    void should_encode_a_percent_sign_that_starts_no_escape() throws Exception {
        long id = Jobs.insert(server.url("/odd?discount=50%&%zz=%2"));

        Jobs.awaitEnded(id);

        assertThat(server.received())
                .singleElement()
                .extracting(Received::uri)
                .isEqualTo("/odd?discount=50%25&%25zz=%252");
    }

    @Test
    void should_call_an_ipv6_literal_url() throws Exception {
        assumeThatCode(HostileInputIT::bindIpv6Loopback)
                .as("IPv6 loopback is available")
                .doesNotThrowAnyException();
        try (TestHttpServer ipv6 = TestHttpServer.start("::1")) {
            long id = Jobs.insert(ipv6.url("/status/200?via=ipv6"));

            Map<String, Object> row = Jobs.awaitEnded(id);

            assertThat(row.get("state")).isEqualTo("done");
            assertThat(row.get("status_code")).isEqualTo(200);
            assertThat(ipv6.received())
                    .singleElement()
                    .satisfies(
                            request -> {
                                assertThat(request.uri()).isEqualTo("/status/200?via=ipv6");
                                assertThat(request.headers().get("host"))
                                        .isEqualTo("[::1]:" + ipv6.port());
                            });
        }
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "file:///etc/passwd",
                "ftp://127.0.0.1/file",
                "gopher://127.0.0.1:70/_GET",
                "javascript:alert(1)",
                "data:text/plain,hello",
                "ws://127.0.0.1/socket",
                "mailto:root@localhost",
                " http://127.0.0.1/",
                "http:/127.0.0.1/",
                "http://127.0.0.1\n/"
            })
    void should_refuse_an_unsupported_scheme_at_insert(String url) {
        assertThatThrownBy(() -> Jobs.insert(url))
                .isInstanceOf(SQLException.class)
                .hasMessageContaining("url_is_http");
    }

    // bodies

    @Test
    void should_send_a_1_MiB_data_value_intact_and_store_an_answer_of_exactly_the_cap_whole()
            throws Exception {
        String data = "0123456789abcdü".repeat(CAP_BYTES / 16); // 16 bytes in UTF-8
        long id = Jobs.insert(server.url("/echo"), "POST", data, "{}", 1);

        Map<String, Object> row = Jobs.awaitEnded(id);

        byte[] sent = data.getBytes(StandardCharsets.UTF_8);
        assertThat(sent).hasSize(CAP_BYTES);
        assertThat(server.received().get(0).body()).isEqualTo(sent);
        assertThat(row.get("state")).isEqualTo("done");
        assertThat((byte[]) row.get("response_body")).isEqualTo(sent);
        assertThat(row.get("response_size")).isEqualTo((long) CAP_BYTES);
        assertThat(row.get("response_truncated")).isEqualTo(false);
    }

    @Test
    void should_store_the_first_bytes_and_the_full_size_when_the_answer_exceeds_the_cap()
            throws Exception {
        int size = 20 * 1024 * 1024;
        long id = Jobs.insert(server.url("/bytes/" + size));

        Map<String, Object> row = Jobs.awaitEnded(id);

        assertThat(row.get("state")).isEqualTo("done");
        assertThat((byte[]) row.get("response_body"))
                .isEqualTo(Arrays.copyOf(TestHttpServer.pattern(size), CAP_BYTES));
        assertThat(row.get("response_size")).isEqualTo((long) size);
        assertThat(row.get("response_truncated")).isEqualTo(true);
        assertThat(responseHeaders(row)).containsEntry("content-length", String.valueOf(size));
    }

    @Test
    void should_store_a_binary_answer_within_the_cap_whole() throws Exception {
        int size = 700_001;
        long id = Jobs.insert(server.url("/bytes/" + size));

        Map<String, Object> row = Jobs.awaitEnded(id);

        assertThat((byte[]) row.get("response_body")).isEqualTo(TestHttpServer.pattern(size));
        assertThat(row.get("response_size")).isEqualTo((long) size);
        assertThat(row.get("response_truncated")).isEqualTo(false);
    }

    @Test
    void should_store_a_text_answer_that_is_not_utf8_byte_for_byte() throws Exception {
        long id = Jobs.insert(server.url("/latin1"));

        Map<String, Object> row = Jobs.awaitEnded(id);

        assertThat((byte[]) row.get("response_body"))
                .isEqualTo(TestHttpServer.LATIN1_TEXT.getBytes(StandardCharsets.ISO_8859_1));
        assertThat(responseHeaders(row))
                .containsEntry("content-type", "text/plain; charset=iso-8859-1");
    }

    @Test
    void should_store_a_gzip_answer_as_sent_and_record_its_encoding() throws Exception {
        long id = Jobs.insert(server.url("/gzip"));

        Map<String, Object> row = Jobs.awaitEnded(id);

        byte[] body = (byte[]) row.get("response_body");
        assertThat(row.get("state")).isEqualTo("done");
        assertThat(responseHeaders(row)).containsEntry("content-encoding", "gzip");
        assertThat(body).startsWith((byte) 0x1f, (byte) 0x8b);
        assertThat(gunzip(body)).isEqualTo(TestHttpServer.GZIP_TEXT);
        assertThat(row.get("response_size")).isEqualTo((long) body.length);
        assertThat(server.received().get(0).headers()).doesNotContainKey("accept-encoding");
    }

    // broken answers

    @ParameterizedTest
    @ValueSource(
            strings = {
                "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten!!",
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nonly half",
                "HTTP/1.1 200 OK\r\nContent-Le",
                "",
            })
    void should_fail_with_a_clear_error_when_the_connection_is_cut_mid_answer(String answer)
            throws Exception {
        try (RawResponseServer raw = RawResponseServer.start(answer)) {
            long id = Jobs.insert(raw.url("/cut"));

            Map<String, Object> row = Jobs.awaitEnded(id);

            assertThat(row.get("state")).isEqualTo("failed");
            assertThat(row.get("status_code")).isEqualTo(0);
            assertThat((String) row.get("error"))
                    .startsWith("connection closed before the answer was complete");
        }
    }

    @Test
    void should_retry_with_a_clear_error_when_the_server_does_not_speak_http() throws Exception {
        try (RawResponseServer raw = RawResponseServer.start("SSH-2.0-OpenSSH_9.6\r\n")) {
            long id = Jobs.insert(raw.url("/"), "GET", "", "{}", 2);

            // The server is at fault, not the job, so the job waits for its second attempt.
            Awaitility.await()
                    .atMost(Duration.ofSeconds(20))
                    .until(() -> Jobs.row(id).get("state").equals("waiting"));
            Map<String, Object> row = Jobs.row(id);

            assertThat(row.get("attempts")).isEqualTo(1);
            assertThat((String) row.get("error"))
                    .startsWith("not a valid HTTP answer:")
                    .contains("SSH-2.0");
            Jobs.execute("UPDATE ipo_flower SET state = 'cancelled' WHERE id = " + id);
        }
    }

    @Test
    void should_fail_as_timed_out_when_the_answer_is_slower_than_the_job_timeout()
            throws Exception {
        long id = insertWithTimeout(server.url("/delay/10000"), 1000);

        Map<String, Object> row = Jobs.awaitEnded(id, Duration.ofSeconds(8));

        assertThat(row.get("state")).isEqualTo("failed");
        assertThat((String) row.get("error"))
                .isEqualTo("timed out: no complete response within 1000 ms");
    }

    // answers without a body

    @ParameterizedTest
    @ValueSource(ints = {204, 304})
    void should_store_an_answer_without_body_as_done(int status) throws Exception {
        long id = Jobs.insert(server.url("/status/" + status));

        Map<String, Object> row = Jobs.awaitEnded(id);

        assertThat(row.get("state")).isEqualTo("done");
        assertThat(row.get("status_code")).isEqualTo(status);
        assertThat((byte[]) row.get("response_body")).isEmpty();
        assertThat(row.get("response_size")).isEqualTo(0L);
        assertThat(row.get("error")).isEqualTo("");
    }

    @Test
    void should_store_the_headers_and_no_body_when_the_method_is_head() throws Exception {
        long id = Jobs.insert(server.url("/bytes/5000"), "HEAD", "", "{}", 1);

        Map<String, Object> row = Jobs.awaitEnded(id);

        assertThat(row.get("state")).isEqualTo("done");
        assertThat(row.get("status_code")).isEqualTo(200);
        assertThat(responseHeaders(row)).containsEntry("content-length", "5000");
        assertThat((byte[]) row.get("response_body")).isEmpty();
        assertThat(row.get("response_size")).isEqualTo(0L);
    }

    // TLS

    @Test
    void should_fail_with_a_tls_error_when_the_certificate_is_self_signed() throws Exception {
        try (TestHttpServer tls = TestHttpServer.startWithSelfSignedCertificate()) {
            long id = Jobs.insert(tls.url("/status/200"));

            Map<String, Object> row = Jobs.awaitEnded(id);

            assertThat(row.get("state")).isEqualTo("failed");
            assertThat(row.get("status_code")).isEqualTo(0);
            assertThat((String) row.get("error")).startsWith("TLS failed:");
            assertThat(tls.received()).isEmpty();
        }
    }

    @Test
    void should_accept_a_self_signed_certificate_when_told_to_trust_all() throws Exception {
        try (TestHttpServer tls = TestHttpServer.startWithSelfSignedCertificate()) {
            // The shared daemon would claim the job too, so it steps aside for this one.
            daemon.close();
            try (Daemon trusting =
                    Daemon.start(Map.of("ipo.http.trust-all-certificates", "true"))) {
                long id = Jobs.insert(tls.url("/status/200"));

                Map<String, Object> row = Jobs.awaitEnded(id);

                assertThat(row.get("state")).isEqualTo("done");
                assertThat(row.get("status_code")).isEqualTo(200);
            } finally {
                daemon = Daemon.start(SETTINGS);
            }
        }
    }

    // headers

    @Test
    void should_send_to_the_row_url_and_method_whatever_camel_headers_the_row_carries()
            throws Exception {
        String headers =
                JSON.writeValueAsString(
                        Map.of(
                                "CamelHttpUri", otherServer.url("/stolen"),
                                "CamelHttpPath", "/stolen",
                                "CamelHttpQuery", "stolen=1",
                                "CamelHttpMethod", "DELETE",
                                "CamelVertxHttpQuery", "stolen=1",
                                "Content-Type", "application/x-www-form-urlencoded"));
        String data = "CamelHttpUri=" + otherServer.url("/stolen") + "&CamelHttpMethod=DELETE";
        long id = Jobs.insert(server.url("/echo?mine=1"), "POST", data, headers, 1);

        Map<String, Object> row = Jobs.awaitEnded(id);

        assertThat(row.get("state")).isEqualTo("done");
        assertThat(otherServer.received()).isEmpty();
        Received request = server.received().get(0);
        assertThat(request.method()).isEqualTo("POST");
        assertThat(request.uri()).isEqualTo("/echo?mine=1");
        assertThat(new String(request.body(), StandardCharsets.UTF_8)).isEqualTo(data);
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "{\"X-Evil\": \"a\\r\\nX-Injected: yes\"}",
                "{\"X-Evil\": \"a\\nX-Injected: yes\"}",
                "{\"X-Evil: yes\\r\\nX-Name\": \"a\"}",
                "{\"Bad Name\": \"a\"}"
            })
    void should_fail_as_an_invalid_job_when_a_header_would_inject_another(String headers)
            throws Exception {
        long id = Jobs.insert(server.url("/status/200"), "GET", "", headers, 3);

        Map<String, Object> row = Jobs.awaitEnded(id);

        assertThat(row.get("state")).isEqualTo("failed");
        assertThat(row.get("attempts")).as("not retried").isEqualTo(1);
        assertThat((String) row.get("error"))
                .startsWith("invalid job:")
                .as("on one line, so it cannot forge a log line")
                .doesNotContain("\r", "\n");
        assertThat(server.received()).isEmpty();
    }

    // redirects

    @Test
    void should_follow_a_redirect_and_store_the_final_answer() throws Exception {
        long id = Jobs.insert(server.url("/redirect/302?to=/status/201"));

        Map<String, Object> row = Jobs.awaitEnded(id);

        assertThat(row.get("state")).isEqualTo("done");
        assertThat(row.get("status_code")).isEqualTo(201);
        assertThat(new String((byte[]) row.get("response_body"), StandardCharsets.UTF_8))
                .isEqualTo("status 201");
        assertThat(server.received())
                .extracting(Received::uri)
                .containsExactly("/redirect/302?to=/status/201", "/status/201");
    }

    @ParameterizedTest
    @ValueSource(ints = {307, 308})
    void should_keep_method_and_body_when_the_redirect_is_307_or_308(int status) throws Exception {
        long id =
                Jobs.insert(
                        server.url("/redirect/" + status + "?to=/echo"),
                        "PUT",
                        "payload ü",
                        "{\"Content-Type\": \"text/plain\"}",
                        1);

        Map<String, Object> row = Jobs.awaitEnded(id);

        assertThat(row.get("state")).isEqualTo("done");
        Received last = server.received().get(1);
        assertThat(last.uri()).isEqualTo("/echo");
        assertThat(last.method()).isEqualTo("PUT");
        assertThat(new String(last.body(), StandardCharsets.UTF_8)).isEqualTo("payload ü");
        assertThat(last.headers()).containsEntry("content-type", "text/plain");
    }

    @ParameterizedTest
    @ValueSource(ints = {301, 302, 303})
    void should_turn_a_post_into_a_get_without_body_when_the_redirect_is_301_302_or_303(int status)
            throws Exception {
        long id =
                Jobs.insert(
                        server.url("/redirect/" + status + "?to=/echo"),
                        "POST",
                        "payload",
                        "{\"Content-Type\": \"text/plain\", \"X-Kept\": \"yes\"}",
                        1);

        Map<String, Object> row = Jobs.awaitEnded(id);

        assertThat(row.get("state")).isEqualTo("done");
        assertThat(server.received().get(0).method()).isEqualTo("POST");
        Received last = server.received().get(1);
        assertThat(last.uri()).isEqualTo("/echo");
        assertThat(last.method()).isEqualTo("GET");
        assertThat(last.body()).isEmpty();
        assertThat(last.headers())
                .doesNotContainKeys("content-length", "content-type", "transfer-encoding")
                .containsEntry("x-kept", "yes");
    }

    @Test
    void should_fail_with_a_clear_error_when_redirects_loop() throws Exception {
        long id = Jobs.insert(server.url("/loop"));

        Map<String, Object> row = Jobs.awaitEnded(id);

        assertThat(row.get("state")).isEqualTo("failed");
        assertThat((String) row.get("error"))
                .startsWith("redirect failed: stopped after " + MAX_REDIRECTS + " redirects");
        assertThat(server.received()).hasSize(1 + MAX_REDIRECTS);
    }

    @Test
    void should_hold_a_redirected_call_to_the_job_timeout() throws Exception {
        long id =
                insertWithTimeout(
                        server.url("/redirect/302?to=" + server.url("/delay/10000")), 1000);

        Map<String, Object> row = Jobs.awaitEnded(id, Duration.ofSeconds(8));

        assertThat(row.get("state")).isEqualTo("failed");
        assertThat((String) row.get("error"))
                .isEqualTo("timed out: no complete response within 1000 ms");
    }

    @Test
    void should_keep_a_put_and_its_body_when_the_redirect_is_302() throws Exception {
        long id = Jobs.insert(server.url("/redirect/302?to=/echo"), "PUT", "payload", "{}", 1);

        Jobs.awaitEnded(id);

        // Browsers (the Fetch standard) turn only a POST into a GET on 301 and 302.
        Received last = server.received().get(1);
        assertThat(last.method()).isEqualTo("PUT");
        assertThat(new String(last.body(), StandardCharsets.UTF_8)).isEqualTo("payload");
    }

    @Test
    void should_follow_a_relative_location_exactly_as_written() throws Exception {
        String location = URLEncoder.encode("../status/200?q=a%2Bb%20c", StandardCharsets.UTF_8);
        long id = Jobs.insert(server.url("/redirect/301?to=" + location));

        Map<String, Object> row = Jobs.awaitEnded(id);

        assertThat(row.get("status_code")).isEqualTo(200);
        assertThat(server.received().get(1).uri()).isEqualTo("/status/200?q=a%2Bb%20c");
    }

    @Test
    void should_leave_credentials_behind_when_a_redirect_leaves_the_origin() throws Exception {
        String location = URLEncoder.encode(otherServer.url("/echo"), StandardCharsets.UTF_8);
        long id =
                Jobs.insert(
                        server.url("/redirect/302?to=" + location),
                        "GET",
                        "",
                        "{\"Authorization\": \"Bearer secret\", \"Cookie\": \"s=1\","
                                + " \"X-Kept\": \"yes\"}",
                        1);

        Map<String, Object> row = Jobs.awaitEnded(id);

        assertThat(row.get("state")).isEqualTo("done");
        assertThat(server.received().get(0).headers()).containsKeys("authorization", "cookie");
        assertThat(otherServer.received())
                .singleElement()
                .satisfies(
                        request ->
                                assertThat(request.headers())
                                        .doesNotContainKeys("authorization", "cookie")
                                        .containsEntry("x-kept", "yes")
                                        .containsEntry("host", "127.0.0.1:" + otherServer.port()));
    }

    @Test
    void should_fail_with_a_clear_error_when_a_redirect_leads_to_another_scheme() throws Exception {
        long id = Jobs.insert(server.url("/redirect/302?to=ftp://127.0.0.1/file"));

        Map<String, Object> row = Jobs.awaitEnded(id);

        assertThat(row.get("state")).isEqualTo("failed");
        assertThat((String) row.get("error"))
                .startsWith("redirect failed: cannot follow it:")
                .contains("ftp://127.0.0.1/file");
    }

    private static long insertWithTimeout(String url, int timeoutMillis) throws SQLException {
        return ((Number)
                        Jobs.query(
                                        "INSERT INTO ipo_flower (url, max_attempts, timeout_ms)"
                                                + " VALUES ('"
                                                + url
                                                + "', 1, "
                                                + timeoutMillis
                                                + ") RETURNING id")
                                .get(0)
                                .get("id"))
                .longValue();
    }

    private static void bindIpv6Loopback() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName("::1"))) {
            socket.getLocalPort();
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, String> responseHeaders(Map<String, Object> row) throws Exception {
        return JSON.readValue(row.get("response_headers").toString(), Map.class);
    }

    private static String gunzip(byte[] body) throws IOException {
        try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(body))) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
