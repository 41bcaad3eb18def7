package dev.compresso.engine.kernel;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.function.IntConsumer;

/**
 * The shared worker pool of the kernels, sized to the available cores. Work is split into a few coarse
 * tasks (one per thread); the calling thread runs one of them itself.
 */
public final class KernelPool {
    private static final int CORES = Math.max(1, Runtime.getRuntime().availableProcessors());
    private static final ForkJoinPool POOL = new ForkJoinPool(CORES, pool -> {
        var t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(pool);
        t.setName("compresso-kernel-" + t.getPoolIndex());
        t.setDaemon(true);
        return t;
    }, null, false);

    private KernelPool() {}

    /** Number of cores the pool is sized to: the default thread count of every kernel. */
    public static int cores() {
        return CORES;
    }

    /**
     * Runs {@code body.accept(i)} for {@code i} in {@code [0, tasks)}, in parallel, and waits for all.
     * The caller runs task 0. Exceptions of any task are rethrown.
     */
    public static void run(int tasks, IntConsumer body) {
        if (tasks <= 1) {
            if (tasks == 1) {
                body.accept(0);
            }
            return;
        }
        @SuppressWarnings("unchecked")
        ForkJoinTask<?>[] fs = new ForkJoinTask<?>[tasks - 1];
        for (int i = 1; i < tasks; i++) {
            final int id = i;
            fs[i - 1] = POOL.submit(() -> body.accept(id));
        }
        RuntimeException failure = null;
        try {
            body.accept(0);
        } catch (RuntimeException e) {
            failure = e;
        }
        for (ForkJoinTask<?> f : fs) {
            try {
                f.join();
            } catch (RuntimeException e) {
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }
}
