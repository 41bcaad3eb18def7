package dev.compresso.engine.onnx;

import dev.compresso.engine.ModelException;
import dev.compresso.engine.Tensor;
import dev.compresso.engine.graph.Graph;
import dev.compresso.engine.graph.Node;
import dev.compresso.engine.graph.Rewriter;
import dev.compresso.engine.runtime.Plan;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Imports an ONNX file into the engine's graph IR: reads it, rejects unsupported operators, folds constant
 * sub-graphs, fuses the hot patterns onto packed kernels ({@link Fusion}) and drops dead nodes.
 */
public final class OnnxImporter {
    private OnnxImporter() {}

    /**
     * @param path ONNX file
     * @return the optimized graph
     * @throws IOException    on read failure
     * @throws ModelException on malformed or unsupported content, naming file and node
     */
    public static Graph load(Path path) throws IOException, ModelException {
        return load(path, true);
    }

    /**
     * @param path ONNX file
     * @param fuse whether to fuse patterns onto engine operators (false: plain ONNX semantics, for testing)
     * @return the graph
     * @throws IOException    on read failure
     * @throws ModelException on malformed or unsupported content, naming file and node
     */
    public static Graph load(Path path, boolean fuse) throws IOException, ModelException {
        return load(path, fuse, java.lang.foreign.Arena.ofAuto());
    }

    /**
     * @param path  ONNX file
     * @param fuse  whether to fuse patterns onto engine operators
     * @param arena owns the file's mapping (constants that are slices of it die when it is closed)
     * @return the graph
     * @throws IOException    on read failure
     * @throws ModelException on malformed or unsupported content, naming file and node
     */
    public static Graph load(Path path, boolean fuse, java.lang.foreign.Arena arena) throws IOException, ModelException {
        String file = path.toString();
        OnnxReader.Result r = OnnxReader.read(path, arena);
        for (var e : r.opsets().entrySet()) {
            if ((e.getKey().isEmpty() || e.getKey().equals("ai.onnx")) && (e.getValue() < 7 || e.getValue() > 21)) {
                throw new ModelException(file + ": default opset " + e.getValue() + " is not supported (7 to 21)");
            }
        }
        Graph g = r.graph();
        for (Node n : g.nodes()) {
            if (!Plan.isSupported(n)) {
                throw new ModelException(file + ": unsupported operator " + (n.domain().isEmpty() ? "" : n.domain() + ".")
                        + n.op() + " at node '" + n.name() + "'");
            }
        }
        Plan.validate(g, file);
        g = fold(g, file);
        if (fuse) {
            g = Fusion.fuse(g, file);
            g = fold(g, file);
        }
        return g;
    }

    /** Evaluates every node whose inputs are all constants, and removes nodes nothing reads. */
    static Graph fold(Graph g, String file) throws ModelException {
        Rewriter edits = g.rewrite();
        for (Node n : g.nodes()) {
            boolean allConst = true;
            for (String in : n.inputs()) {
                if (!in.isEmpty() && edits.constant(in) == null) {
                    allConst = false;
                    break;
                }
            }
            if (allConst && !n.op().equals("DynamicQuantizeLinear")) {
                Tensor[] in = new Tensor[n.inputs().size()];
                for (int i = 0; i < in.length; i++) {
                    String name = n.inputs().get(i);
                    in[i] = name.isEmpty() ? null : edits.constant(name);
                }
                Tensor[] out = Plan.fold(n, in, g.opset(), file);
                for (int i = 0; i < out.length && i < n.outputs().size(); i++) {
                    edits.putConstant(n.outputs().get(i), out[i]);
                }
                edits.remove(n);
            }
        }
        // Dead-node elimination, backwards from the graph outputs, then the constants nothing reads.
        return edits.removeDeadNodes().removeUnusedConstants().build();
    }
}
