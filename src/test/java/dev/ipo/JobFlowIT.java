package dev.ipo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ipo.support.Daemon;
import dev.ipo.support.Jobs;
import dev.ipo.support.OutputListener;
import dev.ipo.support.QueueTest;
import dev.ipo.support.TestHttpServer.Received;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Checks the main job end to end: a row goes in, the request goes out, the answer comes back. */
class JobFlowIT extends QueueTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static Daemon daemon;

    @BeforeAll
    static void startDaemon() {
        daemon = Daemon.start();
    }

    @AfterAll
    static void stopDaemon() {
        daemon.close();
    }

    @Test
    void should_store_status_headers_and_body_when_server_answers_200() throws Exception {
        long id = Jobs.insert(server.url("/status/200"));

        Map<String, Object> row = Jobs.awaitEnded(id);

        assertThat(row.get("state")).isEqualTo("done");
        assertThat(row.get("status_code")).isEqualTo(200);
        assertThat(body(row)).isEqualTo("status 200");
        assertThat(responseHeaders(row)).containsEntry("x-test", "yes");
        assertThat(row.get("error")).isEqualTo("");
        assertThat(row.get("attempts")).isEqualTo(1);
        assertThat(Jobs.query("SELECT * FROM ipo_attempt WHERE flower_id = " + id))
                .singleElement()
                .satisfies(attempt -> assertThat(attempt.get("status_code")).isEqualTo(200));
    }

    @ParameterizedTest
    @ValueSource(ints = {404, 500})
    void should_fail_and_keep_the_answer_when_server_answers_an_error(int status) throws Exception {
        long id = Jobs.insert(server.url("/status/" + status));

        Map<String, Object> row = Jobs.awaitEnded(id);

        assertThat(row.get("state")).isEqualTo("failed");
        assertThat(row.get("status_code")).isEqualTo(status);
        assertThat(row.get("error")).isEqualTo("server answered " + status);
        assertThat(body(row)).isEqualTo("status " + status);
        assertThat(responseHeaders(row)).containsEntry("x-test", "yes");
    }

    @Test
    void should_send_data_and_content_type_when_method_is_post() throws Exception {
        long id =
                Jobs.insert(
                        server.url("/echo"),
                        "post",
                        "{\"hello\": \"wörld\"}",
                        "{\"Content-Type\": \"application/json\"}",
                        1);

        Map<String, Object> row = Jobs.awaitEnded(id);

        assertThat(row.get("state")).isEqualTo("done");
        Received request = server.received().get(0);
        assertThat(request.method()).isEqualTo("POST");
        assertThat(request.headers()).containsEntry("content-type", "application/json");
        assertThat(new String(request.body(), StandardCharsets.UTF_8))
                .isEqualTo("{\"hello\": \"wörld\"}");
        assertThat(body(row)).isEqualTo("{\"hello\": \"wörld\"}");
    }

    @ParameterizedTest
    @ValueSource(strings = {"PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "get"})
    void should_use_the_method_of_the_row(String method) throws Exception {
        long id = Jobs.insert(server.url("/status/200"), method, "", "{}", 1);

        Map<String, Object> row = Jobs.awaitEnded(id);

        assertThat(row.get("state")).isEqualTo("done");
        assertThat(server.received())
                .singleElement()
                .satisfies(request -> assertThat(request.method()).isEqualTo(method.toUpperCase()));
        if (method.equals("HEAD")) {
            assertThat(body(row)).isEmpty();
        }
    }

    @Test
    void should_send_the_row_headers_and_no_internal_header() throws Exception {
        long id =
                Jobs.insert(
                        server.url("/status/200"),
                        "GET",
                        "",
                        "{\"X-Request-Id\": \"abc-123\", \"Authorization\": \"Bearer t0k3n\"}",
                        1);

        Jobs.awaitEnded(id);

        Map<String, String> headers = server.received().get(0).headers();
        assertThat(headers)
                .containsEntry("x-request-id", "abc-123")
                .containsEntry("authorization", "Bearer t0k3n");
        assertThat(headers.keySet())
                .allSatisfy(name -> assertThat(name).doesNotStartWith("camel"))
                .doesNotContain(
                        "channel", "limit", "daemonid", "leasemillis", "jobcount", "ipojob");
        assertThat(headers.keySet())
                .isSubsetOf("host", "user-agent", "x-request-id", "authorization", "connection");
    }

    @Test
    void should_store_a_binary_body_byte_for_byte() throws Exception {
        long id = Jobs.insert(server.url("/bytes"));

        Map<String, Object> row = Jobs.awaitEnded(id);

        byte[] expected = new byte[256];
        for (int b = 0; b < 256; b++) {
            expected[b] = (byte) b;
        }
        assertThat((byte[]) row.get("response_body")).isEqualTo(expected);
        assertThat(row.get("response_size")).isEqualTo(256L);
        assertThat(row.get("response_truncated")).isEqualTo(false);
    }

    @Test
    void should_fail_with_a_clear_error_when_the_connection_is_refused() throws Exception {
        long id = Jobs.insert("http://127.0.0.1:1/");

        Map<String, Object> row = Jobs.awaitEnded(id);

        assertThat(row.get("state")).isEqualTo("failed");
        assertThat(row.get("status_code")).isEqualTo(0);
        assertThat((String) row.get("error")).startsWith("could not connect:");
    }

    @Test
    void should_fail_with_a_clear_error_when_the_host_is_unknown() throws Exception {
        long id = Jobs.insert("http://no-such-host.invalid/");

        Map<String, Object> row = Jobs.awaitEnded(id);

        assertThat(row.get("state")).isEqualTo("failed");
        assertThat((String) row.get("error")).startsWith("unknown host:");
    }

    @ParameterizedTest
    @ValueSource(strings = {"not a url", "ftp://example.com/file", "http://", "http:// spaced/"})
    void should_refuse_a_malformed_url_at_insert(String url) {
        assertThatThrownBy(() -> Jobs.insert(url))
                .isInstanceOf(SQLException.class)
                .hasMessageContaining("url_is_http");
    }

    @Test
    void should_refuse_an_unknown_method_at_insert() {
        assertThatThrownBy(() -> Jobs.insert(server.url("/"), "FETCH", "", "{}", 1))
                .isInstanceOf(SQLException.class)
                .hasMessageContaining("method_is_known");
    }

    @Test
    void should_send_one_output_notify_per_finished_job_with_id_state_and_status()
            throws Exception {
        try (OutputListener listener = new OutputListener()) {
            long done = Jobs.insert(server.url("/status/201"));
            long failed = Jobs.insert(server.url("/status/404"));

            List<String> payloads = listener.awaitPayloads(2, Duration.ofSeconds(20));
            payloads = listener.drain(Duration.ofMillis(500));

            assertThat(payloads)
                    .map(payload -> JSON.readValue(payload, Map.class))
                    .containsExactlyInAnyOrder(
                            Map.of("id", (int) done, "state", "done", "status_code", 201),
                            Map.of("id", (int) failed, "state", "failed", "status_code", 404));
        }
    }

    private static String body(Map<String, Object> row) {
        return new String((byte[]) row.get("response_body"), StandardCharsets.UTF_8);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, String> responseHeaders(Map<String, Object> row) throws Exception {
        return JSON.readValue(row.get("response_headers").toString(), Map.class);
    }
}
