package dev.compresso.engine.onnx;

import dev.compresso.engine.ModelException;
import dev.compresso.engine.graph.Graph;

/** Pattern fusion onto engine operators (work in progress). */
final class Fusion {
    private Fusion() {}

    static Graph fuse(Graph g, String file) throws ModelException {
        return g;
    }
}
