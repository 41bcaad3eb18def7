package dev.compresso.engine;

import dev.compresso.engine.runtime.Plan;
import java.util.Map;
import java.util.Objects;

/**
 * Runs a {@link Model}. One thread at a time per session (activation buffers are reused across runs); use
 * one session per thread for concurrency.
 */
public final class Session implements AutoCloseable {
    private final Model model;
    private final Plan plan;
    private boolean closed;

    Session(Model model, SessionOptions options) {
        Objects.requireNonNull(options, "options");
        this.model = model;
        this.plan = new Plan(model.graph(), model.source() == null ? "graph " + model.graph().name()
                : model.source().toString(), options.threads(), options.observer());
    }

    /**
     * Runs the model.
     *
     * @param inputs every graph input by name
     * @return every graph output by name, in graph order; the caller owns them
     * @throws ModelException        when an input is missing, of the wrong type or of a shape the graph
     *                               cannot take (the message names the tensor and node)
     * @throws IllegalStateException after {@link #close()}
     */
    public Map<String, Tensor> run(Map<String, Tensor> inputs) throws ModelException {
        if (closed) {
            throw new IllegalStateException("session is closed");
        }
        return plan.run(inputs);
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
