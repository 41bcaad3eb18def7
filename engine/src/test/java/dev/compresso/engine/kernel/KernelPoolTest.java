package dev.compresso.engine.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

class KernelPoolTest {

    @Test
    void runsEveryTaskOnce() {
        for (int tasks : new int[] {0, 1, 2, 3, 8}) {
            AtomicIntegerArray seen = new AtomicIntegerArray(Math.max(tasks, 1));
            KernelPool.run(tasks, i -> seen.incrementAndGet(i));
            for (int i = 0; i < tasks; i++) {
                assertEquals(1, seen.get(i), "task " + i + " of " + tasks);
            }
        }
    }

    @Test
    void aFailureIsRethrownOnlyAfterEveryTaskFinished() {
        AtomicInteger finished = new AtomicInteger();
        var e = assertThrows(IllegalStateException.class, () -> KernelPool.run(4, i -> {
            if (i == 0) {
                throw new IllegalStateException("task 0 failed");
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
            }
            finished.incrementAndGet();
        }));
        assertEquals("task 0 failed", e.getMessage());
        assertEquals(3, finished.get(), "run returned while tasks were still running");
    }

    @Test
    void errorsFromWorkersPropagate() {
        var e = assertThrows(AssertionError.class, () -> KernelPool.run(2, i -> {
            if (i == 1) {
                throw new AssertionError("worker failed");
            }
        }));
        assertTrue(String.valueOf(e.getMessage()).contains("worker failed") || e.getCause() != null, e.toString());
    }

    @Test
    void splitCoversEveryCellExactlyOnce() {
        // Every path of Kernels.split: single thread, dynamic row blocks, channel ranges, row ranges.
        int[][] shapes = {{1, 16, 16}, {1000, 40, 64}, {400, 17, 1000}, {5, 4000, 64}, {2000, 3, 100}, {3, 5, 100000}};
        for (int[] s : shapes) {
            for (boolean panels : new boolean[] {true, false}) {
                int m = s[0], n = s[1];
                AtomicIntegerArray cells = new AtomicIntegerArray(m * n);
                Kernels.split(m, n, s[2], panels, 2, (m0, m1, n0, n1) -> {
                    if (panels) {
                        assertEquals(0, n0 % 16, "panel split must start on a panel");
                    }
                    for (int i = m0; i < m1; i++) {
                        for (int j = n0; j < n1; j++) {
                            cells.incrementAndGet(i * n + j);
                        }
                    }
                });
                for (int i = 0; i < m * n; i++) {
                    assertEquals(1, cells.get(i), "cell " + i + " of " + m + "x" + n);
                }
            }
        }
    }

    /**
     * Several caller threads at once, and tasks that call the pool again: the spinning pool takes one job at a
     * time, the others fall back to the fork/join pool; every task still runs exactly once.
     */
    @Test
    void concurrentAndNestedCallersEachGetEveryTaskOnce() throws Exception {
        int callers = 4, rounds = 300, tasks = 5;
        java.util.concurrent.atomic.AtomicLong total = new java.util.concurrent.atomic.AtomicLong();
        Thread[] ts = new Thread[callers];
        Throwable[] failure = new Throwable[1];
        for (int c = 0; c < callers; c++) {
            ts[c] = new Thread(() -> {
                try {
                    for (int r = 0; r < rounds; r++) {
                        int[] seen = new int[tasks];
                        KernelPool.run(tasks, id -> {
                            seen[id]++;
                            if (id == 0) {
                                int[] inner = new int[3];
                                KernelPool.run(3, j -> inner[j]++);
                                for (int v : inner) {
                                    if (v != 1) throw new AssertionError("nested task ran " + v + " times");
                                }
                            }
                            total.incrementAndGet();
                        });
                        for (int v : seen) {
                            if (v != 1) throw new AssertionError("task ran " + v + " times");
                        }
                    }
                } catch (Throwable e) {
                    synchronized (failure) {
                        failure[0] = e;
                    }
                }
            });
            ts[c].start();
        }
        for (Thread t : ts) {
            t.join();
        }
        if (failure[0] != null) {
            throw new AssertionError(failure[0]);
        }
        org.junit.jupiter.api.Assertions.assertEquals((long) callers * rounds * tasks, total.get());
    }
}
