package dev.ipo.http;

import java.io.IOException;

/** A redirect that could not be followed: one too many, or to a place IPO cannot call. */
public final class RedirectException extends IOException {

    RedirectException(String message) {
        super(message);
    }
}
