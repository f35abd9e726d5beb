package dev.ipo.support;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A TCP server on loopback that answers every request with the same raw bytes and then closes the
 * connection: for broken responses that no HTTP library would send, such as a body cut short.
 */
public final class RawResponseServer implements AutoCloseable {

    private final ServerSocket listener;
    private final byte[] response;
    private final List<String> requestHeads = new CopyOnWriteArrayList<>();
    private final List<Socket> connections = new CopyOnWriteArrayList<>();

    private RawResponseServer(byte[] response) throws IOException {
        this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        this.response = response;
        Thread acceptor = new Thread(this::accept, "raw-response-server");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** Starts a server that writes {@code response} as it is, then closes the connection. */
    public static RawResponseServer start(String response) throws IOException {
        return new RawResponseServer(response.getBytes(StandardCharsets.ISO_8859_1));
    }

    public String url(String pathAndQuery) {
        return "http://127.0.0.1:" + listener.getLocalPort() + pathAndQuery;
    }

    /** The request line and headers of each request received, in order. */
    public List<String> requestHeads() {
        return List.copyOf(requestHeads);
    }

    private void accept() {
        while (!listener.isClosed()) {
            try {
                Socket socket = listener.accept();
                connections.add(socket);
                Thread answer = new Thread(() -> answer(socket), "raw-response-answer");
                answer.setDaemon(true);
                answer.start();
            } catch (IOException closed) {
                return;
            }
        }
    }

    private void answer(Socket socket) {
        try (socket) {
            requestHeads.add(readHead(socket.getInputStream()));
            socket.getOutputStream().write(response);
            socket.getOutputStream().flush();
        } catch (IOException e) {
            // The client went away first; nothing to answer.
        }
    }

    /** Reads up to the blank line that ends a request's headers; the tests send no body. */
    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int matched = 0;
        byte[] end = {'\r', '\n', '\r', '\n'};
        while (matched < end.length) {
            int b = in.read();
            if (b < 0) {
                break;
            }
            head.write(b);
            matched = b == end[matched] ? matched + 1 : (b == '\r' ? 1 : 0);
        }
        return head.toString(StandardCharsets.ISO_8859_1);
    }

    @Override
    public void close() {
        try {
            listener.close();
            for (Socket socket : connections) {
                socket.close();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
