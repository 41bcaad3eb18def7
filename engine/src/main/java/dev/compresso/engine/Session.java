package dev.compresso.engine;

import dev.compresso.engine.graph.Graph;
import dev.compresso.engine.runtime.Plan;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Runs a {@link Model}. A session may be run from several threads at once: each run in progress takes its own
 * set of activation buffers, reused by later runs. The buffers a session keeps are bounded by the largest
 * input it has run (a small multiple of that run's peak), whatever the number and shapes of the calls.
 *
 * <p>{@link #close()} frees those buffers at once (after the runs in progress end); a session dropped without
 * closing is freed by the garbage collector. Closing the session's model closes the session.
 */
public final class Session implements AutoCloseable {
    private final Model model;
    private final Plan plan;
    /** Runs hold the read lock; close() takes the write lock, so it waits for the runs in progress. */
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private volatile boolean closed;

    Session(Model model, Graph graph, SessionOptions options) {
        Objects.requireNonNull(options, "options");
        this.model = model;
        this.plan = new Plan(graph, model.where(), options.threads(), options.observer(), options.profile());
    }

    /**
     * Runs the model.
     *
     * @param inputs every graph input by name
     * @return every graph output by name, in graph order; the caller owns them
     * @throws ModelException        when an input is missing, of the wrong type or of a shape the graph
     *                               cannot take, or when memory runs out for an activation (the message
     *                               names the tensor and node; the session stays usable), or when the
     *                               mapped model file was truncated or rewritten in place since it was loaded
     * @throws IllegalStateException after {@link #close()} (or the model's)
     */
    public Map<String, Tensor> run(Map<String, Tensor> inputs) throws ModelException {
        return run(inputs, null);
    }

    /**
     * Runs the model for some of its outputs: nodes that only feed other outputs are skipped.
     *
     * @param inputs  every graph input by name
     * @param outputs names of the graph outputs wanted, or {@code null} for all
     * @return the requested outputs by name, in graph order; the caller owns them
     * @throws ModelException        as {@link #run(Map)}, and when a requested name is not a graph output
     * @throws IllegalStateException after {@link #close()} (or the model's)
     */
    public Map<String, Tensor> run(Map<String, Tensor> inputs, Set<String> outputs) throws ModelException {
        ReentrantReadWriteLock.ReadLock r = lock.readLock();
        r.lock();
        try {
            if (closed) {
                throw new IllegalStateException("session of " + model.where() + " is closed");
            }
            model.checkSource();
            return plan.run(inputs, outputs);
        } finally {
            r.unlock();
        }
    }

    /**
     * @return bytes of off-heap activation buffers this session keeps between runs (diagnostics; runs in
     *         progress are not counted)
     */
    public long activationBytes() {
        return plan.heldBytes();
    }

    /**
     * @return nanoseconds of wall time per operator type (a fused linear layer by its shape, e.g.
     *         {@code "Linear 384x1536"}) summed over every run so far: an immutable snapshot, empty unless the
     *         session was made with {@link SessionOptions#profile(boolean)}
     */
    public Map<String, Long> profile() {
        return plan.profile();
    }

    /** @return the model this session runs */
    public Model model() {
        return model;
    }

    /**
     * Closes the session: waits for the runs in progress, then frees its activation buffers. Further
     * {@link #run} calls throw {@link IllegalStateException}. Idempotent.
     *
     * @throws IllegalStateException when called from inside a run of this session (an observer)
     */
    @Override
    public void close() {
        if (lock.getReadHoldCount() > 0) {
            throw new IllegalStateException("a session cannot be closed from inside one of its runs");
        }
        ReentrantReadWriteLock.WriteLock w = lock.writeLock();
        w.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            plan.close();
        } finally {
            w.unlock();
        }
        model.closed(this);
    }
}
