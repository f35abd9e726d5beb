package dev.ipo.support;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;

/**
 * The fixture most integration tests share: a real HTTP server on loopback for the whole class, and
 * an empty queue and a fresh request log before each test.
 */
public abstract class QueueTest {

    protected static TestHttpServer server;

    @BeforeAll
    static void startServer() throws Exception {
        server = TestHttpServer.start();
    }

    @AfterAll
    static void stopServer() {
        server.close();
    }

    @BeforeEach
    void emptyQueue() throws Exception {
        TestDatabase.clear();
        server.reset();
    }
}
