package dev.ipo.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Checks that a job's URL, and a redirect's Location, become the request IPO sends. */
class RequestTargetTest {

    @Test
    void should_send_a_unicode_host_name_as_punycode() {
        RequestTarget target = RequestTarget.parse("http://bücher.example:8080/straße?q=ä");

        assertThat(target.host()).isEqualTo("xn--bcher-kva.example");
        assertThat(target.port()).isEqualTo(8080);
        assertThat(target.requestUri()).isEqualTo("/stra%C3%9Fe?q=%C3%A4");
        assertThat(target.authority()).isEqualTo("xn--bcher-kva.example:8080");
    }

    @Test
    void should_send_an_ascii_host_name_unchanged() {
        assertThat(RequestTarget.parse("https://Example.COM/").host()).isEqualTo("Example.COM");
    }

    @Test
    void should_keep_an_ipv6_literal_and_bracket_it_in_the_host_header() {
        RequestTarget target = RequestTarget.parse("http://[::1]:8080/x");

        assertThat(target.host()).isEqualTo("::1");
        assertThat(target.port()).isEqualTo(8080);
        assertThat(target.authority()).isEqualTo("[::1]:8080");
        assertThat(RequestTarget.parse("https://[2001:db8::1]/").authority())
                .isEqualTo("[2001:db8::1]");
    }

    @Test
    void should_use_the_default_port_of_the_scheme_and_leave_it_out_of_the_host_header() {
        assertThat(RequestTarget.parse("http://example.com").port()).isEqualTo(80);
        assertThat(RequestTarget.parse("HTTPS://example.com?q").port()).isEqualTo(443);
        assertThat(RequestTarget.parse("https://example.com:443/").authority())
                .isEqualTo("example.com");
        assertThat(RequestTarget.parse("http://example.com?q").requestUri()).isEqualTo("/?q");
    }

    @ParameterizedTest
    @CsvSource(
            delimiter = '|',
            value = {
                "/a b/ü?x=y z                 | /a%20b/%C3%BC?x=y%20z",
                "/q?a=%2B&b=%20&c=%26&d=%e2%82%ac | /q?a=%2B&b=%20&c=%26&d=%e2%82%ac",
                "/100%/x%zz?p=%               | /100%25/x%25zz?p=%25",
                "/a%2Fb/../c;m=1?x[]=1#frag   | /a%2Fb/../c;m=1?x[]=1",
                "/tab\there?quote=\"          | /tab%09here?quote=%22"
            })
    void should_encode_only_what_a_request_line_cannot_carry(String path, String sent) {
        assertThat(RequestTarget.parse("http://h" + path).requestUri()).isEqualTo(sent);
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "ftp://h/",
                "h/path",
                "http://user:secret@h/",
                "http://:80/",
                "http://h:0/",
                "http://h:65536/",
                "http://h:8o/",
                "http://[::1/",
                "http://a..b/"
            })
    void should_refuse_a_url_it_cannot_call(String url) {
        assertThatThrownBy(() -> RequestTarget.parse(url))
                .isInstanceOf(IllegalArgumentException.class);
    }

    /** The examples of RFC 3986 section 5.4, from base http://a/b/c/d;p?q. */
    @ParameterizedTest
    @CsvSource({
        "g, /b/c/g",
        "./g, /b/c/g",
        "g/, /b/c/g/",
        "/g, /g",
        "?y, /b/c/d;p?y",
        "g?y, /b/c/g?y",
        "#s, /b/c/d;p?q",
        "g#s, /b/c/g",
        "g?y#s, /b/c/g?y",
        ";x, /b/c/;x",
        "g;x?y#s, /b/c/g;x?y",
        "'', /b/c/d;p?q",
        "., /b/c/",
        "./, /b/c/",
        ".., /b/",
        "../, /b/",
        "../g, /b/g",
        "../.., /",
        "../../g, /g",
        "../../../g, /g",
        "/./g, /g",
        "/../g, /g",
        "g., /b/c/g.",
        "..g, /b/c/..g",
        "./../g, /b/g",
        "g/./h, /b/c/g/h",
        "g/../h, /b/c/h"
    })
    void should_resolve_a_relative_location_as_rfc_3986_does(String location, String resolved) {
        RequestTarget base = RequestTarget.parse("http://a/b/c/d;p?q");

        RequestTarget next = base.resolve(location);

        assertThat(next.host()).isEqualTo("a");
        assertThat(next.requestUri()).isEqualTo(resolved);
    }

    @Test
    void should_keep_escapes_and_encode_spaces_in_a_location() {
        RequestTarget base = RequestTarget.parse("http://a:8080/b/c");

        assertThat(base.resolve("/x%2Fy?q=a%2Bb c").requestUri()).isEqualTo("/x%2Fy?q=a%2Bb%20c");
        assertThat(base.resolve("ü").requestUri()).isEqualTo("/b/%C3%BC");
    }

    @Test
    void should_resolve_an_absolute_or_scheme_relative_location_to_its_own_origin() {
        RequestTarget base = RequestTarget.parse("https://a/b");

        RequestTarget elsewhere = base.resolve("http://bücher.example:81/p?q");
        RequestTarget sameScheme = base.resolve("//other/p");

        assertThat(elsewhere)
                .isEqualTo(new RequestTarget("xn--bcher-kva.example", 81, false, "/p?q"));
        assertThat(sameScheme).isEqualTo(new RequestTarget("other", 443, true, "/p"));
        assertThat(base.sameOrigin(sameScheme)).isFalse();
        assertThat(base.sameOrigin(base.resolve("/elsewhere"))).isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {"ftp://a/file", "javascript:alert(1)", "//user:pw@other/"})
    void should_refuse_a_location_it_cannot_follow(String location) {
        RequestTarget base = RequestTarget.parse("http://a/b");

        assertThatThrownBy(() -> base.resolve(location))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
