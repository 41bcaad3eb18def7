package dev.compresso.engine.graph;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One operation of a {@link Graph}: an ONNX operator (with its domain, empty for the default one) or a fused
 * engine operator ({@link Linear}, {@link LayerNorm}, {@link Attention}, or {@code "Gelu"}). Nodes are
 * immutable; passes replace them through a {@link Rewriter}. Empty input names mean an omitted optional
 * input, as in ONNX.
 */
public sealed class Node permits Linear, LayerNorm, Attention {
    private final String op;
    private final String domain;
    private final String name;
    private final List<String> inputs;
    private final List<String> outputs;
    private final Map<String, Attribute> attributes;

    /**
     * @param op         operator type, e.g. {@code "MatMul"}
     * @param domain     operator domain, {@code ""} for the default ONNX domain
     * @param name       node name (unique in the graph)
     * @param inputs     input tensor names
     * @param outputs    output tensor names
     * @param attributes attributes by name
     */
    public Node(String op, String domain, String name, List<String> inputs, List<String> outputs,
            Map<String, Attribute> attributes) {
        this.op = op;
        this.domain = domain == null ? "" : domain;
        this.name = name;
        this.inputs = List.copyOf(inputs);
        this.outputs = List.copyOf(outputs);
        this.attributes = Collections.unmodifiableMap(new LinkedHashMap<>(attributes));
    }

    /** @return the operator type */
    public String op() {
        return op;
    }

    /** @return the operator domain, {@code ""} for ONNX's default */
    public String domain() {
        return domain;
    }

    /** @return the node name */
    public String name() {
        return name;
    }

    /** @return input tensor names */
    public List<String> inputs() {
        return inputs;
    }

    /** @return output tensor names */
    public List<String> outputs() {
        return outputs;
    }

    /** @return attributes by name (unmodifiable) */
    public Map<String, Attribute> attributes() {
        return attributes;
    }

    /**
     * @param name attribute name
     * @return the attribute, or {@code null}
     */
    public Attribute attribute(String name) {
        return attributes.get(name);
    }

    /**
     * @param name attribute name
     * @param def  default
     * @return the INT attribute's value or {@code def}
     */
    public long intAttr(String name, long def) {
        Attribute a = attributes.get(name);
        return a == null ? def : a.i();
    }

    /**
     * @param name attribute name
     * @param def  default
     * @return the FLOAT attribute's value or {@code def}
     */
    public float floatAttr(String name, float def) {
        Attribute a = attributes.get(name);
        return a == null ? def : a.f();
    }

    /**
     * The same operation reading and writing other values (for rewiring a graph).
     *
     * @param newInputs  input value names
     * @param newOutputs output value names
     * @return a node of the same type, name and parameters
     */
    public Node withValues(List<String> newInputs, List<String> newOutputs) {
        return new Node(op, domain, name, newInputs, newOutputs, attributes);
    }

    @Override
    public String toString() {
        return op + "(" + name + ": " + inputs + " -> " + outputs + ")";
    }
}
