package dev.compresso.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Defect: every new input shape used to allocate a new set of activation buffers that a session never freed
 * (5.47 GB of direct memory after 300 calls of 1–48 sentences). Now the buffers a session keeps are bounded by
 * its largest run, over any number of calls of any shapes. Time-bounded (a few seconds).
 */
class SessionSoakTest {
    static final int MAX_BATCH = 4;
    static final int MAX_LEN = 24;
    /** Longer soaks: {@code -Dcompresso.soak.seconds=600}. */
    static final long SECONDS = Long.getLong("compresso.soak.seconds", 3);
    /** At least this many calls of random shapes, however long they take (about 20 ms each here). */
    static final int MIN_CALLS = Integer.getInteger("compresso.soak.calls", 2000);

    @Test
    @Tag("perf-heavy")
    void activationMemoryIsBoundedByTheLargestRun() throws Exception {
        try (Model m = Model.load(Oracle.resource("all-minilm-l6-v2.onnx"))) {
            long largest;
            try (Session fresh = m.newSession()) {
                fresh.run(inputs(MAX_BATCH, MAX_LEN, 1));
                largest = fresh.activationBytes();
            }
            assertTrue(largest > 0);
            try (Session s = m.newSession()) {
                Random rnd = new Random(11);
                long deadline = System.nanoTime() + SECONDS * 1_000_000_000L;
                long directMid = -1;
                int calls = 0;
                long maxHeld = 0;
                float[] check = null;
                Map<String, Tensor> fixed = inputs(3, 17, 5);
                while (calls < MIN_CALLS || System.nanoTime() < deadline && calls < 20_000) {
                    s.run(inputs(1 + rnd.nextInt(MAX_BATCH), 1 + rnd.nextInt(MAX_LEN), rnd.nextLong()));
                    maxHeld = Math.max(maxHeld, s.activationBytes());
                    calls++;
                    if (calls % 40 == 0) {
                        // Buffers reused across shapes must not leak values between runs.
                        float[] x = s.run(fixed).values().iterator().next().toFloatArray();
                        if (check == null) {
                            check = x;
                        }
                        assertArrayEquals(check, x, "call " + calls);
                    }
                    if (calls == 60) {
                        directMid = direct();
                    }
                }
                assertTrue(maxHeld <= 2 * largest,
                        "held " + maxHeld + " bytes after " + calls + " calls; largest run alone keeps " + largest);
                long growth = direct() - directMid;
                System.out.printf("soak: %d calls, held <= %d bytes (largest run %d), direct growth %d bytes%n",
                        calls, maxHeld, largest, growth);
                assertTrue(growth < 2 * largest + (8 << 20), "direct memory grew by " + growth + " bytes over "
                        + calls + " calls");
            }
        }
    }

    /**
     * Direct memory in use after a collection (activation buffers are freed by the garbage collector), from
     * the "direct" BufferPoolMXBean, reached reflectively (the engine module does not read java.management).
     */
    static long direct() throws Exception {
        Class<?> factory = Class.forName("java.lang.management.ManagementFactory");
        Class<?> bean = Class.forName("java.lang.management.BufferPoolMXBean");
        long best = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(50);
            for (Object b : (java.util.List<?>) factory.getMethod("getPlatformMXBeans", Class.class).invoke(null, bean)) {
                if (bean.getMethod("getName").invoke(b).equals("direct")) {
                    best = Math.min(best, (Long) bean.getMethod("getMemoryUsed").invoke(b));
                }
            }
        }
        return best;
    }

    static Map<String, Tensor> inputs(int batch, int len, long seed) {
        int[] lengths = new int[batch];
        Random r = new Random(seed);
        for (int i = 0; i < batch; i++) {
            lengths[i] = i == 0 ? len : 1 + r.nextInt(len);
        }
        return Oracle.bertInputs(lengths, seed);
    }
}
