package dev.compresso.engine;

import dev.compresso.engine.kernel.KernelPool;

/** Options of a {@link Session}: worker threads and an optional activation observer. */
public final class SessionOptions {
    private int threads = KernelPool.cores();
    private ActivationObserver observer;

    /** Defaults: all cores, no observer. */
    public SessionOptions() {}

    /**
     * Maximum worker threads per kernel call.
     *
     * @param threads at least 1
     * @return this
     * @throws IllegalArgumentException when {@code threads < 1}
     */
    public SessionOptions threads(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        this.threads = threads;
        return this;
    }

    /**
     * Observer of fused linear inputs, or {@code null} for none.
     *
     * @param observer the observer
     * @return this
     */
    public SessionOptions observer(ActivationObserver observer) {
        this.observer = observer;
        return this;
    }

    /** Maximum worker threads. */
    public int threads() {
        return threads;
    }

    /** The observer, or {@code null}. */
    public ActivationObserver observer() {
        return observer;
    }
}
