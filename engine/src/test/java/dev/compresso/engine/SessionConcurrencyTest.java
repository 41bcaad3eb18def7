package dev.compresso.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Defect: a session shared by two threads returned wrong vectors (5–9 of ~30) and threw
 * ConcurrentModificationException. Now twelve threads run one session at once and every result matches a
 * sequential run bit for bit.
 */
class SessionConcurrencyTest {
    static final int THREADS = 12;
    static final int PER_THREAD = 3;

    @Test
    @Tag("perf-heavy")
    void sharedSessionGivesTheSequentialBits() throws Exception {
        try (Model m = Model.load(Oracle.resource("all-minilm-l6-v2.onnx"));
                Session s = m.newSession(new SessionOptions().threads(1))) {
            int n = THREADS * PER_THREAD;
            List<Map<String, Tensor>> inputs = new ArrayList<>();
            float[][] expected = new float[n][];
            for (int i = 0; i < n; i++) {
                inputs.add(SessionSoakTest.inputs(1 + i % 3, 3 + (i * 7) % 17, i));
                expected[i] = s.run(inputs.get(i)).values().iterator().next().toFloatArray();
            }
            ExecutorService pool = Executors.newFixedThreadPool(THREADS);
            try {
                CountDownLatch start = new CountDownLatch(1);
                List<Future<float[][]>> futures = new ArrayList<>();
                for (int t = 0; t < THREADS; t++) {
                    int first = t;
                    futures.add(pool.submit(() -> {
                        start.await();
                        float[][] got = new float[n][];
                        for (int k = 0; k < PER_THREAD; k++) {
                            // Each thread walks all inputs from its own offset, so different shapes overlap.
                            int i = (first * PER_THREAD + k * 13) % n;
                            got[i] = s.run(inputs.get(i)).values().iterator().next().toFloatArray();
                        }
                        return got;
                    }));
                }
                start.countDown();
                int compared = 0;
                for (Future<float[][]> f : futures) {
                    float[][] got = f.get();
                    for (int i = 0; i < n; i++) {
                        if (got[i] != null) {
                            assertEquals(expected[i].length, got[i].length);
                            for (int j = 0; j < got[i].length; j++) {
                                assertEquals(Float.floatToRawIntBits(expected[i][j]), Float.floatToRawIntBits(got[i][j]),
                                        "input " + i + " element " + j);
                            }
                            compared++;
                        }
                    }
                }
                assertEquals(THREADS * PER_THREAD, compared);
            } finally {
                pool.shutdownNow();
            }
        }
    }
}
