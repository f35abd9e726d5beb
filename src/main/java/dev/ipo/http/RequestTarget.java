package dev.ipo.http;

import java.net.IDN;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Where a job's request goes: host, port, TLS and the request target exactly as the user wrote it.
 * Only characters that may not appear in a request line (spaces, non-ASCII, a stray {@code %}) are
 * percent-encoded; existing escapes such as {@code %2B} are sent untouched, and Unicode host names
 * are sent in their ASCII (punycode) form.
 *
 * @param host the host name or IP address, without IPv6 brackets
 * @param port the TCP port, the scheme's default when the URL names none
 * @param secure whether to use TLS
 * @param requestUri the path and query, starting with {@code /}
 */
public record RequestTarget(String host, int port, boolean secure, String requestUri) {

    private static final String HEX = "0123456789ABCDEF";
    private static final Pattern SCHEME = Pattern.compile("^[A-Za-z][A-Za-z0-9+.-]*:");

    /**
     * Parses an absolute http or https URL.
     *
     * @throws IllegalArgumentException with a message fit for the job's error column
     */
    public static RequestTarget parse(String url) {
        int schemeEnd = url.indexOf("://");
        String scheme = schemeEnd < 0 ? "" : url.substring(0, schemeEnd).toLowerCase(Locale.ROOT);
        boolean secure = scheme.equals("https");
        if (!secure && !scheme.equals("http")) {
            throw new IllegalArgumentException("URL must start with http:// or https://: " + url);
        }
        int authorityStart = schemeEnd + 3;
        int authorityEnd = indexOfAny(url, "/?#", authorityStart);
        String authority = url.substring(authorityStart, authorityEnd);
        if (authority.contains("@")) {
            throw new IllegalArgumentException(
                    "URL must not carry credentials; send an Authorization header instead");
        }
        String host;
        String portText;
        if (authority.startsWith("[")) {
            int close = authority.indexOf(']');
            if (close < 0) {
                throw new IllegalArgumentException("URL has an unclosed IPv6 address: " + url);
            }
            host = authority.substring(1, close);
            portText = authority.substring(close + 1);
        } else {
            int colon = authority.lastIndexOf(':');
            host = colon < 0 ? authority : authority.substring(0, colon);
            portText = colon < 0 ? "" : authority.substring(colon);
        }
        if (host.isEmpty()) {
            throw new IllegalArgumentException("URL has no host: " + url);
        }
        int port = secure ? 443 : 80;
        if (!portText.isEmpty()) {
            port = parsePort(portText, url);
        }
        int fragment = url.indexOf('#', authorityEnd);
        String rest = url.substring(authorityEnd, fragment < 0 ? url.length() : fragment);
        if (!rest.startsWith("/")) {
            rest = "/" + rest;
        }
        return new RequestTarget(asciiHost(host, url), port, secure, encodeUnsafe(rest));
    }

    /**
     * Where a redirect's {@code Location} leads from this target, resolved as RFC 3986 section 5
     * says and kept as written, like a job's own URL. Vert.x's own resolution decodes escapes such
     * as {@code %2F}, which would send the request somewhere else.
     *
     * @throws IllegalArgumentException when the location is not an http or https URL
     */
    public RequestTarget resolve(String location) {
        String reference = location.trim();
        if (SCHEME.matcher(reference).lookingAt()) {
            return parse(reference);
        }
        if (reference.startsWith("//")) {
            return parse((secure ? "https:" : "http:") + reference);
        }
        int fragment = reference.indexOf('#');
        if (fragment >= 0) {
            reference = reference.substring(0, fragment);
        }
        int queryStart = requestUri.indexOf('?');
        String basePath = queryStart < 0 ? requestUri : requestUri.substring(0, queryStart);
        String resolved;
        if (reference.isEmpty()) {
            resolved = requestUri;
        } else if (reference.startsWith("?")) {
            resolved = basePath + reference;
        } else {
            int referenceQuery = reference.indexOf('?');
            String path = referenceQuery < 0 ? reference : reference.substring(0, referenceQuery);
            String query = referenceQuery < 0 ? "" : reference.substring(referenceQuery);
            if (!path.startsWith("/")) {
                path = basePath.substring(0, basePath.lastIndexOf('/') + 1) + path;
            }
            resolved = removeDotSegments(path) + query;
        }
        return new RequestTarget(host, port, secure, encodeUnsafe(resolved));
    }

    /**
     * The {@code Host} header for this target. Vert.x writes an IPv6 literal without its brackets
     * ({@code ::1:8080}), which servers reject, so IPO sets the header itself.
     */
    public String authority() {
        String name = host.contains(":") ? "[" + host + "]" : host;
        return port == (secure ? 443 : 80) ? name : name + ":" + port;
    }

    /** Whether both targets are the same origin: scheme, host and port. */
    public boolean sameOrigin(RequestTarget other) {
        return secure == other.secure && port == other.port && host.equalsIgnoreCase(other.host);
    }

    /** RFC 3986 section 5.2.4, for an absolute path. */
    private static String removeDotSegments(String path) {
        Deque<String> kept = new ArrayDeque<>();
        String[] segments = path.split("/", -1);
        for (int i = 1; i < segments.length; i++) {
            boolean last = i == segments.length - 1;
            switch (segments[i]) {
                case "." -> {}
                case ".." -> kept.pollLast();
                default -> {
                    kept.addLast(segments[i]);
                    continue;
                }
            }
            if (last) {
                kept.addLast(""); // "/a/b/.." names the directory "/a/"
            }
        }
        return "/" + String.join("/", kept);
    }

    private static int parsePort(String portText, String url) {
        try {
            int port = Integer.parseInt(portText.substring(1));
            if (port >= 1 && port <= 65535 && portText.startsWith(":")) {
                return port;
            }
        } catch (NumberFormatException e) {
            // falls through to the error below
        }
        throw new IllegalArgumentException("URL has an invalid port: " + url);
    }

    private static String asciiHost(String host, String url) {
        if (host.contains(":")) {
            return host; // an IPv6 literal
        }
        try {
            return IDN.toASCII(host, IDN.ALLOW_UNASSIGNED);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("URL has an invalid host name: " + url, e);
        }
    }

    private static int indexOfAny(String text, String characters, int from) {
        for (int i = from; i < text.length(); i++) {
            if (characters.indexOf(text.charAt(i)) >= 0) {
                return i;
            }
        }
        return text.length();
    }

    private static String encodeUnsafe(String pathAndQuery) {
        byte[] bytes = pathAndQuery.getBytes(StandardCharsets.UTF_8);
        StringBuilder encoded = new StringBuilder(bytes.length + 16);
        for (int i = 0; i < bytes.length; i++) {
            int b = bytes[i] & 0xFF;
            boolean escape = b == '%' && isHex(bytes, i + 1) && isHex(bytes, i + 2);
            if (escape || isAllowedInRequestTarget(b)) {
                encoded.append((char) b);
            } else {
                encoded.append('%').append(HEX.charAt(b >> 4)).append(HEX.charAt(b & 0xF));
            }
        }
        return encoded.toString();
    }

    private static boolean isHex(byte[] bytes, int index) {
        return index < bytes.length && HEX.indexOf(Character.toUpperCase(bytes[index])) >= 0;
    }

    /** RFC 3986 unreserved and reserved characters, which a request line may carry as they are. */
    private static boolean isAllowedInRequestTarget(int b) {
        return (b >= 'a' && b <= 'z')
                || (b >= 'A' && b <= 'Z')
                || (b >= '0' && b <= '9')
                || "-._~:/?[]@!$&'()*+,;=".indexOf(b) >= 0;
    }
}
