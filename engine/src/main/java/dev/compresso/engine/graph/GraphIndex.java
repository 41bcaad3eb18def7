package dev.compresso.engine.graph;

import dev.compresso.engine.Tensor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Who makes and who reads each value of a {@link Graph}: the producer of each value, its readers (once per
 * input slot, in node order, as ONNX counts them), the constants by name and the graph outputs. Built once
 * from an immutable graph; passes query it while they plan edits with a {@link Rewriter}.
 */
public final class GraphIndex {
    private final Graph graph;
    private final Map<String, Node> producer = new HashMap<>();
    private final Map<String, List<Node>> consumers = new HashMap<>();
    private final Set<String> outputs = new HashSet<>();
    private final Set<String> inputs = new HashSet<>();

    private GraphIndex(Graph graph) {
        this.graph = graph;
        for (Node n : graph.nodes()) {
            for (String o : n.outputs()) {
                producer.put(o, n);
            }
            for (String i : n.inputs()) {
                consumers.computeIfAbsent(i, k -> new ArrayList<>()).add(n);
            }
        }
        for (ValueInfo o : graph.outputs()) {
            outputs.add(o.name());
        }
        for (ValueInfo i : graph.inputs()) {
            inputs.add(i.name());
        }
    }

    /**
     * @param graph a graph
     * @return its index
     */
    public static GraphIndex of(Graph graph) {
        return new GraphIndex(graph);
    }

    /** @return the indexed graph */
    public Graph graph() {
        return graph;
    }

    /**
     * @param value a value name
     * @return the node that computes it, or {@code null} (a graph input, a constant or undefined)
     */
    public Node producer(String value) {
        return producer.get(value);
    }

    /**
     * @param value a value name
     * @return the nodes reading it, once per input slot, in node order (unmodifiable; empty when none)
     */
    public List<Node> consumers(String value) {
        List<Node> l = consumers.get(value);
        return l == null ? List.of() : java.util.Collections.unmodifiableList(l);
    }

    /**
     * @param value a value name
     * @return the number of reads of it: node input slots, plus one when it is a graph output
     */
    public int reads(String value) {
        return consumers(value).size() + (outputs.contains(value) ? 1 : 0);
    }

    /**
     * @param value a value name
     * @return its only reader, or {@code null} when it has several, none, or is a graph output
     */
    public Node single(String value) {
        if (outputs.contains(value)) {
            return null;
        }
        List<Node> l = consumers(value);
        return l.size() == 1 ? l.get(0) : null;
    }

    /**
     * @param value a value name
     * @return whether it is a graph output
     */
    public boolean isOutput(String value) {
        return outputs.contains(value);
    }

    /**
     * @param value a value name
     * @return whether it is a graph input
     */
    public boolean isInput(String value) {
        return inputs.contains(value);
    }

    /**
     * @param value a value name
     * @return the constant of that name, or {@code null}
     */
    public Tensor constant(String value) {
        return graph.constants().get(value);
    }

    /**
     * @param value a value name
     * @return whether it names a constant
     */
    public boolean isConstant(String value) {
        return graph.constants().containsKey(value);
    }
}
