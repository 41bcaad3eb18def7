package dev.compresso.engine.runtime;

import dev.compresso.engine.ActivationObserver;
import dev.compresso.engine.ModelException;
import dev.compresso.engine.Tensor;
import dev.compresso.engine.graph.Graph;
import java.util.Map;

/** Executes a graph (work in progress). */
public final class Plan {
    private final String where;

    public Plan(Graph graph, String where, int threads, ActivationObserver observer) {
        this.where = where;
    }

    public static void validate(Graph g, String where) throws ModelException {}

    public Map<String, Tensor> run(Map<String, Tensor> inputs) throws ModelException {
        throw new ModelException(where + ": interpreter not implemented yet");
    }
}
