package dev.ipo.job;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.camel.Exchange;

/**
 * Caps the jobs one daemon has in flight, so that a backlog of a million rows never opens a million
 * sockets: the claim route asks for a page no larger than the room left, and every stored result
 * gives its place back.
 */
public final class JobCapacity {

    /** The header the claim query reads its {@code LIMIT} from. */
    public static final String LIMIT_HEADER = "limit";

    private static final String LAST_PAGE_FULL = "ipoLastPageFull";

    private final int maxInFlight;
    private final int pageSize;
    private final AtomicInteger inFlight = new AtomicInteger();

    /**
     * @param maxInFlight the most jobs claimed and not yet stored at once
     * @param pageSize the most jobs one claim query takes
     */
    public JobCapacity(int maxInFlight, int pageSize) {
        this.maxInFlight = maxInFlight;
        this.pageSize = pageSize;
    }

    /**
     * Reserves room for the next page and sets {@value #LIMIT_HEADER} to its size. Returns false,
     * ending the claim loop, when there is no room, the last page came back short (the queue has no
     * more due jobs), or IPO is stopping.
     */
    public boolean reserve(Exchange exchange) {
        if (Boolean.FALSE.equals(exchange.getProperty(LAST_PAGE_FULL))) {
            return false;
        }
        // Camel keeps seda consumers running through a graceful stop, and every stored result
        // rings the claim doorbell; without this a stopping daemon would keep taking jobs.
        if (exchange.getContext().isStopping()) {
            return false;
        }
        int reserved;
        int current;
        do {
            current = inFlight.get();
            reserved = Math.min(pageSize, maxInFlight - current);
            if (reserved <= 0) {
                return false;
            }
        } while (!inFlight.compareAndSet(current, current + reserved));
        exchange.getMessage().setHeader(LIMIT_HEADER, reserved);
        return true;
    }

    /** Gives back the room a page reserved but did not fill. */
    public void settle(Exchange exchange) {
        int reserved = exchange.getMessage().getHeader(LIMIT_HEADER, Integer.class);
        int claimed = exchange.getMessage().getBody(List.class).size();
        inFlight.addAndGet(claimed - reserved);
        exchange.setProperty(LAST_PAGE_FULL, claimed == reserved);
    }

    /** Gives back the places of jobs whose results are stored. */
    public void release(int jobs) {
        inFlight.addAndGet(-jobs);
    }

    /** Jobs claimed and not yet stored. */
    public int inFlight() {
        return inFlight.get();
    }
}
