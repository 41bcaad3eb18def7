package dev.compresso.engine;

import dev.compresso.engine.kernel.KernelPool;

/** Options of a {@link Session}: worker threads, an optional activation observer, and profiling. */
public final class SessionOptions {
    private int threads = KernelPool.cores();
    private ActivationObserver observer;
    private boolean profile;

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

    /**
     * Whether the session sums wall time per operator type ({@link Session#profile()}); off by default, it
     * costs two clock reads per node.
     *
     * @param profile whether to profile
     * @return this
     */
    public SessionOptions profile(boolean profile) {
        this.profile = profile;
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

    /** Whether the session profiles. */
    public boolean profile() {
        return profile;
    }
}
