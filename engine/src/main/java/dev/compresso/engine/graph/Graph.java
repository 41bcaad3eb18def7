package dev.compresso.engine.graph;

import dev.compresso.engine.Tensor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The engine's graph IR: named inputs and outputs, nodes in topological order, and constant tensors by name
 * (ONNX initializers and folded constants). A graph is immutable (and so safe to share between threads and
 * sessions): a pass edits it through a {@link Rewriter} ({@link #rewrite()}), which builds a new graph, and
 * finds its way with a {@link GraphIndex}. The constants' bytes are not copied: a graph made from a loaded
 * model's graph shares that model's (mapped) memory.
 */
public final class Graph {
    private final String name;
    private final List<ValueInfo> inputs;
    private final List<ValueInfo> outputs;
    private final List<Node> nodes;
    private final Map<String, Tensor> constants;
    private final long opset;

    /** The default-domain opset assumed by the 5-argument constructor. */
    public static final long DEFAULT_OPSET = 17;

    /**
     * A graph at {@link #DEFAULT_OPSET}.
     *
     * @param name      graph name
     * @param inputs    graph inputs (excluding constants)
     * @param outputs   graph outputs
     * @param nodes     nodes in topological order
     * @param constants constants by name
     */
    public Graph(String name, List<ValueInfo> inputs, List<ValueInfo> outputs, List<Node> nodes,
            Map<String, Tensor> constants) {
        this(name, inputs, outputs, nodes, constants, DEFAULT_OPSET);
    }

    /**
     * @param name      graph name
     * @param inputs    graph inputs (excluding constants)
     * @param outputs   graph outputs
     * @param nodes     nodes in topological order
     * @param constants constants by name
     * @param opset     version of the default ONNX operator set the nodes follow (attribute vs input forms)
     */
    public Graph(String name, List<ValueInfo> inputs, List<ValueInfo> outputs, List<Node> nodes,
            Map<String, Tensor> constants, long opset) {
        this.opset = opset;
        this.name = name;
        this.inputs = List.copyOf(inputs);
        this.outputs = List.copyOf(outputs);
        this.nodes = List.copyOf(nodes);
        this.constants = Collections.unmodifiableMap(new LinkedHashMap<>(constants));
    }

    /** @return the default-domain ONNX opset version the nodes follow */
    public long opset() {
        return opset;
    }

    /** @return the graph name */
    public String name() {
        return name;
    }

    /** @return graph inputs */
    public List<ValueInfo> inputs() {
        return inputs;
    }

    /** @return graph outputs */
    public List<ValueInfo> outputs() {
        return outputs;
    }

    /** @return nodes in topological order (unmodifiable) */
    public List<Node> nodes() {
        return nodes;
    }

    /** @return constants by name (unmodifiable) */
    public Map<String, Tensor> constants() {
        return constants;
    }

    /** @return a rewriter whose edits build a new graph from this one */
    public Rewriter rewrite() {
        return new Rewriter(this);
    }

    /** @return the fused linear nodes, in order */
    public List<Linear> linears() {
        List<Linear> out = new ArrayList<>();
        for (Node n : nodes) {
            if (n instanceof Linear l) {
                out.add(l);
            }
        }
        return out;
    }

    /**
     * @param nodeName a node name
     * @return the node, or {@code null}
     */
    public Node node(String nodeName) {
        for (Node n : nodes) {
            if (n.name().equals(nodeName)) {
                return n;
            }
        }
        return null;
    }
}
