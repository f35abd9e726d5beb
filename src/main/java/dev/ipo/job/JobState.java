package dev.ipo.job;

import java.util.Locale;

/**
 * The states a job moves through, spelt in lower case in the {@code state} column, the output
 * NOTIFY and the logs: {@code new}, then {@code running}, then {@code done} or {@code failed}, with
 * {@code waiting} between attempts and {@code cancelled} set by users.
 */
public enum JobState {
    NEW,
    WAITING,
    RUNNING,
    DONE,
    FAILED,
    CANCELLED;

    /** The state as stored in the {@code state} column. */
    public String columnValue() {
        return name().toLowerCase(Locale.ROOT);
    }
}
