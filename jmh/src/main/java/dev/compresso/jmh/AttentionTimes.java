package dev.compresso.jmh;

/**
 * {@link AttentionBenchmark}'s operator and inputs timed without JMH: six rounds of {@code 2400 / batch} calls,
 * each round's mean printed. For A/B comparisons of two builds on a noisy machine, run it alternately against
 * each build's classes and compare the best rounds.
 *
 * <p>Usage: {@code AttentionTimes BATCH THREADS}
 */
public final class AttentionTimes {
    private AttentionTimes() {}

    public static void main(String[] args) throws Exception {
        AttentionBenchmark b = new AttentionBenchmark();
        b.batch = Integer.parseInt(args[0]);
        b.threads = Integer.parseInt(args[1]);
        b.seq = 128;
        b.setUp();
        try {
            int n = Math.max(1, 2400 / b.batch);
            for (int round = 0; round < 6; round++) {
                long t0 = System.nanoTime();
                for (int i = 0; i < n; i++) {
                    b.attention();
                }
                System.out.printf("batch %d, %d thread(s): %.1f us per call%n", b.batch, b.threads,
                        (System.nanoTime() - t0) / 1e3 / n);
            }
        } finally {
            b.tearDown();
        }
    }
}
