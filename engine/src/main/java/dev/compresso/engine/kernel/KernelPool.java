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

    /**
     * {@code compresso.pool}: {@code spin} (default) hands jobs to {@link SpinPool} workers that poll briefly
     * between jobs; {@code fj} uses only the fork/join pool (parked workers are unparked per job).
     */
    private static final String MODE = System.getProperty("compresso.pool", "spin");
    private static final SpinPool SPIN = CORES > 1 && MODE.equals("spin") ? new SpinPool(CORES - 1) : null;

    private KernelPool() {}

    /** Number of cores the pool is sized to: the default thread count of every kernel. */
    public static int cores() {
        return CORES;
    }

    /**
     * Runs {@code body.accept(i)} for {@code i} in {@code [0, tasks)}, in parallel, and waits for all of
     * them — also when one fails, so no task still writes into the caller's buffers after this returns.
     * The caller runs tasks too; which thread runs which task is not specified. The first failure is rethrown (an {@link Error} or {@link RuntimeException} as
     * it is), later ones are added to it as suppressed.
     *
     * @throws RuntimeException or {@link Error} thrown by a task
     */
    public static void run(int tasks, IntConsumer body) {
        if (tasks <= 1) {
            if (tasks == 1) {
                body.accept(0);
            }
            return;
        }
        if (SPIN != null && SPIN.tryRun(tasks, body)) {
            return;
        }
        ForkJoinTask<?>[] fs = new ForkJoinTask<?>[tasks - 1];
        Throwable failure = null;
        int submitted = 0;
        try {
            for (int i = 1; i < tasks; i++) {
                final int id = i;
                fs[i - 1] = POOL.submit(() -> body.accept(id));
                submitted++;
            }
            body.accept(0);
        } catch (Throwable e) {
            failure = e;
        }
        for (int i = 0; i < submitted; i++) {
            try {
                fs[i].join();
            } catch (Throwable e) {
                if (failure == null) {
                    failure = e;
                } else if (failure != e) {
                    failure.addSuppressed(e);
                }
            }
        }
        rethrow(failure);
    }

    /** Rethrows a task's failure: a {@link RuntimeException} or {@link Error} as it is, anything else wrapped. */
    static void rethrow(Throwable failure) {
        if (failure instanceof RuntimeException re) {
            throw re;
        }
        if (failure instanceof Error err) {
            throw err;
        }
        if (failure != null) {
            throw new IllegalStateException("kernel task failed", failure);
        }
    }
}
