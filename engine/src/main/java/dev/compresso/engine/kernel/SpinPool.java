package dev.compresso.engine.kernel;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntConsumer;

/**
 * Worker threads that spin briefly between jobs before they park. A transformer inference is a chain of
 * some fifty short parallel regions (each linear layer, attention, layer norm) of 0.1–1 ms; a parked
 * {@link java.util.concurrent.ForkJoinPool} worker needs to be unparked and scheduled for each one. Here
 * the workers that finished a job poll for the next for {@link #SPIN_NANOS} first, so a chain of regions
 * hands over without a context switch, as native runtimes' thread pools do.
 *
 * <p>One job at a time: a caller that finds the pool busy (another thread's job, or a nested call from a
 * task) gets {@code false} from {@link #tryRun} and uses another strategy.
 */
final class SpinPool {
    /** How long an idle worker polls before parking: {@code compresso.pool.spinMicros}, default 200 µs. */
    static final long SPIN_NANOS = Math.max(0, Long.getLong("compresso.pool.spinMicros", 200)) * 1000;

    private final Worker[] workers;
    private final ReentrantLock lock = new ReentrantLock();
    /** The newest job; workers remember the last one they joined. A job's counters are its own. */
    private volatile Job current;

    private static final class Job {
        final IntConsumer body;
        final int n;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger done = new AtomicInteger();
        Throwable failure; // guarded by this

        Job(IntConsumer body, int n) {
            this.body = body;
            this.n = n;
        }

        /** Claims and runs tasks until none is left. */
        void work() {
            for (int i; (i = next.getAndIncrement()) < n; ) {
                try {
                    body.accept(i);
                } catch (Throwable e) {
                    synchronized (this) {
                        if (failure == null) {
                            failure = e;
                        } else if (failure != e) {
                            failure.addSuppressed(e);
                        }
                    }
                } finally {
                    done.incrementAndGet();
                }
            }
        }
    }

    SpinPool(int threads) {
        workers = new Worker[threads];
        for (int i = 0; i < threads; i++) {
            workers[i] = new Worker();
            Thread t = new Thread(workers[i], "compresso-kernel-" + (i + 1));
            t.setDaemon(true);
            workers[i].thread = t;
            t.start();
        }
    }

    /** Workers besides the caller. */
    int workers() {
        return workers.length;
    }

    /**
     * Runs tasks {@code [0, n)} on the caller and the workers (claimed one at a time) and waits for all of
     * them, also when one fails; the first failure is rethrown, later ones are suppressed into it.
     *
     * @return {@code false}, having run nothing, if the pool is busy
     */
    boolean tryRun(int n, IntConsumer body) {
        if (lock.isHeldByCurrentThread() || !lock.tryLock()) {
            return false; // nested (a task of this pool's job) or another thread's job
        }
        try {
            Job j = new Job(body, n);
            current = j;
            for (Worker w : workers) {
                if (w.parked) {
                    LockSupport.unpark(w.thread);
                }
            }
            j.work();
            while (j.done.get() < n) {
                Thread.onSpinWait();
            }
            Throwable f;
            synchronized (j) {
                f = j.failure;
            }
            KernelPool.rethrow(f);
            return true;
        } finally {
            lock.unlock();
        }
    }

    private final class Worker implements Runnable {
        Thread thread;
        volatile boolean parked;

        @Override
        public void run() {
            Job seen = null;
            while (true) {
                long spinStart = System.nanoTime();
                Job j;
                while ((j = current) == seen) {
                    if (System.nanoTime() - spinStart < SPIN_NANOS) {
                        Thread.onSpinWait();
                    } else {
                        parked = true;
                        if (current == seen) {
                            LockSupport.park(this);
                        }
                        parked = false;
                        spinStart = System.nanoTime();
                    }
                }
                seen = j;
                j.work();
            }
        }
    }
}
