package dev.ipo.http;

import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.WriteStream;
import io.vertx.ext.web.codec.BodyCodec;
import io.vertx.ext.web.codec.spi.BodyStream;

/**
 * Collects one response body up to a cap and counts the bytes past it, so a huge response costs no
 * more memory than the cap while the row can still tell its full length.
 */
final class CappedBody implements BodyCodec<Buffer> {

    private final int capBytes;
    private final Buffer kept = Buffer.buffer();
    private long receivedBytes;

    CappedBody(int capBytes) {
        this.capBytes = capBytes;
    }

    /** The bytes kept, at most the cap. */
    byte[] keptBytes() {
        return kept.getBytes();
    }

    /** Every byte the server sent, kept or not. */
    long receivedBytes() {
        return receivedBytes;
    }

    boolean truncated() {
        return receivedBytes > kept.length();
    }

    @Override
    public void create(Handler<AsyncResult<BodyStream<Buffer>>> handler) {
        handler.handle(Future.succeededFuture(new Collector()));
    }

    private final class Collector implements BodyStream<Buffer> {

        private final Promise<Buffer> result = Promise.promise();

        @Override
        public Future<Buffer> result() {
            return result.future();
        }

        @Override
        public void handle(Throwable cause) {
            result.tryFail(cause);
        }

        @Override
        public Future<Void> write(Buffer data) {
            receivedBytes += data.length();
            int room = capBytes - kept.length();
            if (room > 0) {
                kept.appendBuffer(data, 0, Math.min(room, data.length()));
            }
            return Future.succeededFuture();
        }

        @Override
        public void write(Buffer data, Handler<AsyncResult<Void>> handler) {
            handler.handle(write(data));
        }

        @Override
        public void end(Handler<AsyncResult<Void>> handler) {
            result.tryComplete(kept);
            if (handler != null) {
                handler.handle(Future.succeededFuture());
            }
        }

        @Override
        public WriteStream<Buffer> exceptionHandler(Handler<Throwable> handler) {
            return this;
        }

        @Override
        public WriteStream<Buffer> setWriteQueueMaxSize(int maxSize) {
            return this;
        }

        @Override
        public boolean writeQueueFull() {
            return false;
        }

        @Override
        public WriteStream<Buffer> drainHandler(Handler<Void> handler) {
            return this;
        }
    }
}
