package dev.compresso.engine.format;

import dev.compresso.engine.ModelException;
import dev.compresso.engine.graph.Attention;
import dev.compresso.engine.graph.Attribute;
import dev.compresso.engine.graph.LayerNorm;
import dev.compresso.engine.graph.Linear;
import dev.compresso.engine.graph.Node;
import dev.compresso.engine.kernel.Activation;
import dev.compresso.engine.kernel.Int8Mode;
import dev.compresso.engine.weights.PackedWeights;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The node-codec table of the model file: for each engine node type, the JSON keys it stores after
 * {@code op}, {@code name}, {@code inputs} and {@code outputs}, and the tensors it owns (named under
 * {@code node/<name>/}). Every other node is stored the ONNX way: domain and attributes. A new node type (a
 * classifier head, a sparse layer) is one entry here; {@link ModelFiles} walks the graph and the container.
 */
final class NodeCodecs {
    private NodeCodecs() {}

    /**
     * One node type's storage.
     *
     * @param <N> the node class
     */
    interface Codec<N extends Node> {
        /** @return the node class this codec stores (other nodes of the same op name are stored generically) */
        Class<N> type();

        /**
         * Writes the node's parameters into {@code json} and its tensors into {@code tensors}.
         *
         * @param n       the node
         * @param base    tensor name prefix of the node ({@code node/<name>})
         * @param json    the node's JSON object (op, name, inputs and outputs already in)
         * @param tensors receives the tensors, in file order
         */
        void write(N n, String base, Map<String, Object> json, List<TensorFile.Entry> tensors);

        /**
         * Rebuilds a node from its JSON object and the file's tensors.
         *
         * @param f    the mapped file
         * @param j    the node's JSON object
         * @param name node name
         * @param ins  input names
         * @param outs output names
         * @return the node
         * @throws ModelException naming the file, node and key on missing or malformed content
         */
        Node read(TensorFile f, Map<String, Object> j, String name, List<String> ins, List<String> outs)
                throws ModelException;
    }

    private static final Codec<Linear> LINEAR = new Codec<>() {
        @Override
        public Class<Linear> type() {
            return Linear.class;
        }

        @Override
        public void write(Linear l, String base, Map<String, Object> j, List<TensorFile.Entry> tensors) {
            PackedWeights w = l.weights();
            j.put("format", w.format());
            j.put("out_features", (long) w.outFeatures());
            j.put("in_features", (long) w.inFeatures());
            j.put("weights", base + "/weight");
            tensors.addAll(PackedCodec.entries(base + "/weight", w));
            float[] bias = l.bias();
            if (bias != null) {
                j.put("bias", base + "/bias");
                tensors.add(ModelFiles.floats(base + "/bias", bias));
            }
            j.put("activation", l.activation().name());
            j.put("int8_mode", l.int8Mode().name());
            if (l.isStatic()) {
                j.put("static_activation_scale", l.staticActivationScale());
            }
            float[] factors = l.channelFactors();
            if (factors != null) {
                j.put("channel_factors", base + "/channel_factors");
                tensors.add(ModelFiles.floats(base + "/channel_factors", factors));
            }
        }

        @Override
        public Node read(TensorFile f, Map<String, Object> j, String name, List<String> ins, List<String> outs)
                throws ModelException {
            Path p = f.path();
            int n = ModelFiles.whole(p, j, "out_features", 1, 1 << 28), k = ModelFiles.whole(p, j, "in_features", 1, 1 << 28);
            PackedWeights w = PackedCodec.read(f, ModelFiles.str(p, j, "weights"), ModelFiles.str(p, j, "format"), n, k);
            float[] bias = j.get("bias") == null ? null : ModelFiles.floatArray(f, ModelFiles.str(p, j, "bias"));
            Object s = j.get("static_activation_scale");
            float scale = s == null ? Float.NaN : ((Number) s).floatValue();
            float[] factors = j.get("channel_factors") == null ? null
                    : ModelFiles.floatArray(f, ModelFiles.str(p, j, "channel_factors"));
            return new Linear(name, ins.get(0), outs.get(0), w, bias, Activation.valueOf(ModelFiles.str(p, j, "activation")),
                    Int8Mode.valueOf(ModelFiles.str(p, j, "int8_mode")), scale, factors);
        }
    };

    private static final Codec<LayerNorm> LAYER_NORM = new Codec<>() {
        @Override
        public Class<LayerNorm> type() {
            return LayerNorm.class;
        }

        @Override
        public void write(LayerNorm ln, String base, Map<String, Object> j, List<TensorFile.Entry> tensors) {
            j.put("epsilon", ln.epsilon());
            j.put("gamma", base + "/gamma");
            j.put("beta", base + "/beta");
            tensors.add(ModelFiles.floats(base + "/gamma", ln.gamma()));
            tensors.add(ModelFiles.floats(base + "/beta", ln.beta()));
        }

        @Override
        public Node read(TensorFile f, Map<String, Object> j, String name, List<String> ins, List<String> outs)
                throws ModelException {
            Path p = f.path();
            return new LayerNorm(name, ins, outs.get(0), ModelFiles.floatArray(f, ModelFiles.str(p, j, "gamma")),
                    ModelFiles.floatArray(f, ModelFiles.str(p, j, "beta")), ModelFiles.num(p, j, "epsilon").floatValue());
        }
    };

    private static final Codec<Attention> ATTENTION = new Codec<>() {
        @Override
        public Class<Attention> type() {
            return Attention.class;
        }

        @Override
        public void write(Attention a, String base, Map<String, Object> j, List<TensorFile.Entry> tensors) {
            j.put("heads", (long) a.heads());
            j.put("scale", a.scale());
        }

        @Override
        public Node read(TensorFile f, Map<String, Object> j, String name, List<String> ins, List<String> outs)
                throws ModelException {
            Path p = f.path();
            return new Attention(name, ins, outs.get(0), ModelFiles.whole(p, j, "heads", 1, 1 << 16),
                    ModelFiles.num(p, j, "scale").floatValue());
        }
    };

    /** ONNX operators and any node without an entry: domain (when not the default) and attributes. */
    private static final Codec<Node> GENERIC = new Codec<>() {
        @Override
        public Class<Node> type() {
            return Node.class;
        }

        @Override
        public void write(Node n, String base, Map<String, Object> j, List<TensorFile.Entry> tensors) {
            if (!n.domain().isEmpty()) {
                j.put("domain", n.domain());
            }
            Map<String, Object> attrs = new LinkedHashMap<>();
            for (Attribute a : new java.util.TreeMap<>(n.attributes()).values()) {
                Map<String, Object> aj = new LinkedHashMap<>();
                aj.put("type", a.type().name());
                if (a.type() == Attribute.Type.TENSOR) {
                    String tname = base + "/attr/" + a.name();
                    tensors.add(ModelFiles.tensorEntry(tname, a.t()));
                    aj.put("tensor", tname);
                    aj.put("dtype", a.t().dtype().name());
                } else {
                    aj.put("value", a.value());
                }
                attrs.put(a.name(), aj);
            }
            j.put("attributes", attrs);
        }

        @Override
        public Node read(TensorFile f, Map<String, Object> j, String name, List<String> ins, List<String> outs)
                throws ModelException {
            Path p = f.path();
            Map<String, Attribute> attrs = new LinkedHashMap<>();
            Map<String, Object> aj = ModelFiles.asMap(p, "attributes", j.getOrDefault("attributes", Map.of()));
            for (Map.Entry<String, Object> e : aj.entrySet()) {
                attrs.put(e.getKey(), ModelFiles.attribute(f, e.getKey(), ModelFiles.asMap(p, "attribute", e.getValue())));
            }
            String domain = j.get("domain") instanceof String d ? d : "";
            return new Node(ModelFiles.str(p, j, "op"), domain, name, ins, outs, attrs);
        }
    };

    /** The table: op name to codec. */
    private static final Map<String, Codec<?>> TABLE = Map.of(
            Linear.OP, LINEAR,
            LayerNorm.OP, LAYER_NORM,
            Attention.OP, ATTENTION);

    /** Writes {@code n}'s parameters and tensors with its type's codec (the generic one for ONNX nodes). */
    static void write(Node n, String base, Map<String, Object> json, List<TensorFile.Entry> tensors) {
        Codec<?> c = TABLE.get(n.op());
        if (c == null || !c.type().isInstance(n)) {
            c = GENERIC;
        }
        writeAs(c, n, base, json, tensors);
    }

    private static <N extends Node> void writeAs(Codec<N> c, Node n, String base, Map<String, Object> json,
            List<TensorFile.Entry> tensors) {
        c.write(c.type().cast(n), base, json, tensors);
    }

    /** Reads a node of op {@code op} with its codec (the generic one for ONNX operators). */
    static Node read(String op, TensorFile f, Map<String, Object> j, String name, List<String> ins, List<String> outs)
            throws ModelException {
        return TABLE.getOrDefault(op, GENERIC).read(f, j, name, ins, outs);
    }
}
