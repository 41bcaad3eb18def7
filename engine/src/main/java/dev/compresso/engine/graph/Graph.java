package dev.compresso.engine.graph;

import dev.compresso.engine.Tensor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The engine's graph IR: named inputs and outputs, nodes in topological order, and constant tensors by name
 * (ONNX initializers and folded constants). Compression passes edit it in place: {@link #replace} swaps a node
 * (e.g. a {@link Linear} with other weights), {@link #putConstant} adds or replaces a constant. A graph is not
 * thread-safe; do not edit it while sessions run.
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
        this.nodes = new ArrayList<>(nodes);
        this.constants = new LinkedHashMap<>(constants);
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

    /** @return nodes in topological order (unmodifiable view) */
    public List<Node> nodes() {
        return Collections.unmodifiableList(nodes);
    }

    /** @return constants by name (unmodifiable view) */
    public Map<String, Tensor> constants() {
        return Collections.unmodifiableMap(constants);
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

    /**
     * Replaces a node in place (same position).
     *
     * @param old         a node of this graph (compared by identity or by name)
     * @param replacement its replacement
     * @throws IllegalArgumentException when {@code old} is not in the graph
     */
    public void replace(Node old, Node replacement) {
        for (int i = 0; i < nodes.size(); i++) {
            if (nodes.get(i) == old) {
                nodes.set(i, replacement);
                return;
            }
        }
        for (int i = 0; i < nodes.size(); i++) {
            if (nodes.get(i).name().equals(old.name())) {
                nodes.set(i, replacement);
                return;
            }
        }
        throw new IllegalArgumentException("node " + old.name() + " is not in graph " + name);
    }

    /**
     * Adds or replaces a constant.
     *
     * @param constName tensor name
     * @param value     its value
     */
    public void putConstant(String constName, Tensor value) {
        constants.put(constName, value);
    }

    /**
     * Replaces all nodes (for passes that restructure the graph).
     *
     * @param newNodes nodes in topological order
     */
    public void setNodes(List<Node> newNodes) {
        nodes.clear();
        nodes.addAll(newNodes);
    }

    /**
     * Removes constants no node uses (after fusion moved them into packed weights).
     */
    public void pruneConstants() {
        java.util.Set<String> used = new java.util.HashSet<>();
        for (Node n : nodes) {
            used.addAll(n.inputs());
        }
        for (ValueInfo o : outputs) {
            used.add(o.name());
        }
        constants.keySet().retainAll(used);
    }
}
