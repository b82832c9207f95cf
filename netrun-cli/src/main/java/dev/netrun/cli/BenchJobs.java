package dev.netrun.cli;

/** Jobs named by import path in {@code netrun bench} (a child JVM loads them from the netrun jar). */
public final class BenchJobs {
    private BenchJobs() {
    }

    /**
     * @param x a number
     * @return {@code x + 1}
     */
    public static int inc(int x) {
        return x + 1;
    }
}
