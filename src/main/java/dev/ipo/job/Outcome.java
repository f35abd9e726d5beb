package dev.ipo.job;

/**
 * Where one attempt leaves its job.
 *
 * @param state {@link JobState#DONE}, {@link JobState#FAILED} or {@link JobState#WAITING}
 * @param retryDelayMillis how long a waiting job waits before its next attempt; 0 otherwise
 */
public record Outcome(JobState state, long retryDelayMillis) {}
