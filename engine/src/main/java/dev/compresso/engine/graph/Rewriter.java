package dev.compresso.engine.graph;

import dev.compresso.engine.Tensor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * Edits of one {@link Graph}, collected and then built into a new graph ({@link #build()}); the graph it starts
 * from is never changed. Node edits name nodes of that graph (by identity, else by name) and keep their
 * positions: a replaced node's replacement (one node or a spliced chain) takes its place, inserted nodes go
 * just before their anchor, appended nodes go last. When a node is both replaced and removed, the replacement
 * wins. Constant edits apply in call order. Renaming values, removing dead nodes and dropping unused constants
 * happen in {@link #build()}, in that order.
 *
 * <pre>{@code
 * Graph g2 = g.rewrite().replace(linear, linear.withWeights(w)).build();
 * }</pre>
 *
 * Not thread-safe; a rewriter is used by one pass.
 */
public final class Rewriter {
    private final Graph base;
    private final List<Node> nodes;
    /** Base node -> its position. */
    private final Map<Node, Integer> position = new IdentityHashMap<>();
    /** Replacement node -> position of the base node it stands for. */
    private final Map<Node, Integer> replacementOf = new IdentityHashMap<>();
    private final Map<String, Integer> byName = new HashMap<>();
    private final Map<Integer, List<Node>> replaced = new HashMap<>();
    private final Set<Integer> removed = new HashSet<>();
    private final Map<Integer, List<Node>> before = new HashMap<>();
    private final List<Node> appended = new ArrayList<>();
    private final Map<String, Tensor> constants;
    private List<ValueInfo> outputs;
    private UnaryOperator<String> rename;
    /** Constants renamed by {@link #renameConstant}: old name to new. */
    private final Map<String, String> constantNames = new HashMap<>();
    private boolean dropDeadNodes;
    private boolean dropUnusedConstants;

    Rewriter(Graph base) {
        this.base = base;
        this.nodes = base.nodes();
        for (int i = 0; i < nodes.size(); i++) {
            position.put(nodes.get(i), i);
            byName.putIfAbsent(nodes.get(i).name(), i);
        }
        this.constants = new LinkedHashMap<>(base.constants());
        this.outputs = base.outputs();
    }

    /** @return the graph the edits apply to */
    public Graph base() {
        return base;
    }

    private int locate(Node n) {
        Integer i = position.get(n);
        if (i == null) {
            i = replacementOf.get(n);
        }
        if (i == null) {
            i = byName.get(n.name());
        }
        if (i == null) {
            throw new IllegalArgumentException("node " + n.name() + " is not in graph " + base.name());
        }
        return i;
    }

    /**
     * Replaces a node by another at its position (a later replacement of the same node wins).
     *
     * @param old         a node of the graph (by identity, else by name), or a replacement made earlier
     * @param replacement its replacement
     * @return this
     * @throws IllegalArgumentException when {@code old} is not in the graph
     */
    public Rewriter replace(Node old, Node replacement) {
        return splice(old, List.of(replacement));
    }

    /**
     * Replaces a node by a chain of nodes (in order) at its position.
     *
     * @param old   a node of the graph (by identity, else by name)
     * @param chain its replacement, in topological order
     * @return this
     * @throws IllegalArgumentException when {@code old} is not in the graph
     */
    public Rewriter splice(Node old, List<Node> chain) {
        int i = locate(old);
        replaced.put(i, List.copyOf(chain));
        for (Node n : chain) {
            replacementOf.put(n, i);
        }
        return this;
    }

    /**
     * Removes a node (its readers must be removed or rewired too, or {@link #removeDeadNodes()} used).
     *
     * @param n a node of the graph
     * @return this
     * @throws IllegalArgumentException when {@code n} is not in the graph
     */
    public Rewriter remove(Node n) {
        removed.add(locate(n));
        return this;
    }

    /**
     * Inserts a node just before another (after nodes inserted there earlier).
     *
     * @param anchor a node of the graph
     * @param n      the new node
     * @return this
     * @throws IllegalArgumentException when {@code anchor} is not in the graph
     */
    public Rewriter insertBefore(Node anchor, Node n) {
        before.computeIfAbsent(locate(anchor), k -> new ArrayList<>()).add(n);
        return this;
    }

    /**
     * Adds a node after all others.
     *
     * @param n the new node
     * @return this
     */
    public Rewriter append(Node n) {
        appended.add(n);
        return this;
    }

    /**
     * @param n a node of the graph
     * @return whether it was replaced or removed by this rewriter
     */
    public boolean touched(Node n) {
        Integer i = position.get(n);
        return i != null && (replaced.containsKey(i) || removed.contains(i));
    }

    /**
     * Adds or replaces a constant.
     *
     * @param name  constant name
     * @param value its value
     * @return this
     */
    public Rewriter putConstant(String name, Tensor value) {
        constants.put(name, value);
        return this;
    }

    /**
     * Removes a constant (if present).
     *
     * @param name constant name
     * @return this
     */
    public Rewriter removeConstant(String name) {
        constants.remove(name);
        return this;
    }

    /**
     * Renames a constant; the nodes of the built graph that read it read the new name.
     *
     * @param from the constant's name
     * @param to   its new name (not a name in use)
     * @return this
     * @throws IllegalArgumentException when there is no constant {@code from}, or {@code to} is taken
     */
    public Rewriter renameConstant(String from, String to) {
        if (!constants.containsKey(from) || constants.containsKey(to)) {
            throw new IllegalArgumentException("cannot rename constant " + from + " to " + to + " in graph " + base.name());
        }
        Map<String, Tensor> renamed = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : constants.entrySet()) {
            renamed.put(e.getKey().equals(from) ? to : e.getKey(), e.getValue());
        }
        constants.clear();
        constants.putAll(renamed);
        constantNames.put(from, to);
        return this;
    }

    /**
     * @param name a constant name
     * @return the constant as edited so far, or {@code null}
     */
    public Tensor constant(String name) {
        return constants.get(name);
    }

    /**
     * Sets the graph outputs.
     *
     * @param newOutputs the outputs
     * @return this
     */
    public Rewriter outputs(List<ValueInfo> newOutputs) {
        this.outputs = List.copyOf(newOutputs);
        return this;
    }

    /**
     * Renames values read and written by the nodes of the built graph (graph inputs and outputs keep their
     * names: map a value onto an output name to make a node compute that output).
     *
     * @param map old value name to new (identity for values that keep their name)
     * @return this
     */
    public Rewriter renameValues(UnaryOperator<String> map) {
        this.rename = map;
        return this;
    }

    /**
     * In {@link #build()}, drops nodes none of whose outputs reaches a graph output.
     *
     * @return this
     */
    public Rewriter removeDeadNodes() {
        this.dropDeadNodes = true;
        return this;
    }

    /**
     * In {@link #build()}, drops constants no node reads and no graph output names.
     *
     * @return this
     */
    public Rewriter removeUnusedConstants() {
        this.dropUnusedConstants = true;
        return this;
    }

    /** @return the edited graph (a new graph; the base is unchanged) */
    public Graph build() {
        List<Node> out = new ArrayList<>(nodes.size() + appended.size());
        for (int i = 0; i < nodes.size(); i++) {
            List<Node> pre = before.get(i);
            if (pre != null) {
                out.addAll(pre);
            }
            List<Node> r = replaced.get(i);
            if (r != null) {
                out.addAll(r);
            } else if (!removed.contains(i)) {
                out.add(nodes.get(i));
            }
        }
        out.addAll(appended);
        if (rename != null) {
            out.replaceAll(n -> rewired(n, rename));
        }
        if (!constantNames.isEmpty()) {
            out.replaceAll(n -> rewired(n, v -> {
                String r = v;
                for (int i = 0; i <= constantNames.size() && constantNames.containsKey(r); i++) {
                    r = constantNames.get(r);
                }
                return r;
            }));
        }
        if (dropDeadNodes) {
            Set<String> live = new HashSet<>();
            for (ValueInfo o : outputs) {
                live.add(o.name());
            }
            List<Node> alive = new ArrayList<>();
            for (int i = out.size() - 1; i >= 0; i--) {
                Node n = out.get(i);
                if (n.outputs().stream().anyMatch(live::contains)) {
                    alive.add(n);
                    live.addAll(n.inputs());
                }
            }
            java.util.Collections.reverse(alive);
            out = alive;
        }
        Map<String, Tensor> consts = constants;
        if (dropUnusedConstants) {
            Set<String> used = new HashSet<>();
            for (Node n : out) {
                used.addAll(n.inputs());
            }
            for (ValueInfo o : outputs) {
                used.add(o.name());
            }
            consts = new LinkedHashMap<>(constants);
            consts.keySet().retainAll(used);
        }
        return new Graph(base.name(), base.inputs(), outputs, out, consts, base.opset());
    }

    private static Node rewired(Node n, UnaryOperator<String> map) {
        List<String> in = n.inputs().stream().map(map).toList();
        List<String> out = n.outputs().stream().map(map).toList();
        if (in.equals(n.inputs()) && out.equals(n.outputs())) {
            return n;
        }
        return n.withValues(in, out);
    }
}
