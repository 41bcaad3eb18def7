package dev.compresso.engine;

import dev.compresso.engine.runtime.Plan;
import java.util.Map;
import java.util.Objects;

/**
 * Runs a {@link Model}. A session may be run from several threads at once: each run in progress takes its own
 * set of activation buffers, reused by later runs. The buffers a session keeps are bounded by the largest
 * input it has run (a small multiple of that run's peak), whatever the number and shapes of the calls.
 */
public final class Session implements AutoCloseable {
    private final Model model;
    private final Plan plan;
    private volatile boolean closed;

    Session(Model model, SessionOptions options) {
        Objects.requireNonNull(options, "options");
        this.model = model;
        this.plan = new Plan(model.graph(), model.source() == null ? "graph " + model.graph().name()
                : model.source().toString(), options.threads(), options.observer(), options.profile());
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
     * @throws IllegalStateException after {@link #close()}
     */
    public Map<String, Tensor> run(Map<String, Tensor> inputs) throws ModelException {
        if (closed) {
            throw new IllegalStateException("session is closed");
        }
        model.checkSource();
        return plan.run(inputs);
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

    /** Closes the session; further {@link #run} calls throw {@link IllegalStateException}. */
    @Override
    public void close() {
        closed = true;
    }
}
