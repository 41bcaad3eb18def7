package dev.compresso.distill;

import dev.compresso.distill.train.EncoderConfig;
import dev.compresso.distill.train.EncoderWeights;
import dev.compresso.engine.DType;
import dev.compresso.engine.ModelException;
import dev.compresso.engine.Tensor;
import dev.compresso.engine.graph.Attention;
import dev.compresso.engine.graph.Graph;
import dev.compresso.engine.graph.GraphIndex;
import dev.compresso.engine.graph.LayerNorm;
import dev.compresso.engine.graph.Linear;
import dev.compresso.engine.graph.Node;
import dev.compresso.engine.graph.Rewriter;
import dev.compresso.engine.graph.ValueInfo;
import dev.compresso.engine.kernel.Activation;
import dev.compresso.engine.weights.Fp32Panels;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A BERT-family encoder found in an engine graph (after ONNX fusion): the embedding tables and layer norm, then
 * per layer the Q/K/V, attention, output, norm, feed-forward and norm nodes. It reads the weights out
 * ({@link #weights()}) and writes a student back ({@link #student}): the same graph with only the kept layers,
 * rewired, and trained weights in place — so the runtime, {@code quant} and {@code prune} take the student like
 * any model. Nothing here is specific to one model: the structure is found by following the graph's edges.
 */
public final class BertGraph {
    private final Graph graph;
    private final String wordTable;
    private final String positionTable;
    private final String typeTable;
    private final LayerNorm embNorm;
    private final List<LayerNodes> layers;
    private final EncoderConfig config;

    /** The nodes of one transformer layer, with its input and output tensor names. */
    record LayerNodes(String input, Linear q, Linear k, Linear v, Attention attention, Linear out, LayerNorm norm1,
            Linear ffnIn, Linear ffnOut, LayerNorm norm2) {
        String output() {
            return norm2.outputs().get(0);
        }

        List<Node> nodes() {
            return List.of(q, k, v, attention, out, norm1, ffnIn, ffnOut, norm2);
        }
    }

    private BertGraph(Graph graph, String word, String position, String type, LayerNorm embNorm,
            List<LayerNodes> layers, EncoderConfig config) {
        this.graph = graph;
        this.wordTable = word;
        this.positionTable = position;
        this.typeTable = type;
        this.embNorm = embNorm;
        this.layers = layers;
        this.config = config;
    }

    /**
     * Finds the encoder in a fused graph.
     *
     * @throws ModelException naming the node where the graph departs from a BERT-family encoder
     */
    public static BertGraph of(Graph g) throws ModelException {
        GraphIndex index = GraphIndex.of(g);
        List<LayerNodes> layers = new ArrayList<>();
        for (Node n : g.nodes()) {
            if (!(n instanceof Attention att)) {
                continue;
            }
            Linear q = linear(index.producer(att.inputs().get(0)), att, "query");
            Linear k = linear(index.producer(att.inputs().get(1)), att, "key");
            Linear v = linear(index.producer(att.inputs().get(2)), att, "value");
            String in = q.inputs().get(0);
            if (!k.inputs().get(0).equals(in) || !v.inputs().get(0).equals(in)) {
                throw new ModelException("attention " + att.name() + ": query, key and value read different inputs");
            }
            Linear out = linear(single(index, att.outputs().get(0), att), att, "output projection");
            LayerNorm n1 = norm(single(index, out.outputs().get(0), out), in, out);
            Linear ffnIn = null;
            for (Node c : index.consumers(n1.outputs().get(0))) {
                if (c instanceof Linear l) {
                    ffnIn = l;
                }
            }
            if (ffnIn == null || ffnIn.activation() != Activation.GELU) {
                throw new ModelException("layer norm " + n1.name() + ": no GELU feed-forward layer reads it");
            }
            Linear ffnOut = linear(single(index, ffnIn.outputs().get(0), ffnIn), ffnIn, "feed-forward output");
            LayerNorm n2 = norm(single(index, ffnOut.outputs().get(0), ffnOut), n1.outputs().get(0), ffnOut);
            int h = q.inFeatures();
            if (q.outFeatures() != h || k.outFeatures() != h || v.outFeatures() != h || out.outFeatures() != h
                    || out.inFeatures() != h || ffnIn.inFeatures() != h || ffnOut.outFeatures() != h
                    || ffnOut.inFeatures() != ffnIn.outFeatures() || n1.channels() != h || n2.channels() != h) {
                throw new ModelException("attention " + att.name() + ": layer widths do not agree with hidden " + h);
            }
            float expect = (float) (1.0 / Math.sqrt(h / att.heads()));
            if (h % att.heads() != 0 || Math.abs(att.scale() - expect) > 1e-6f * expect) {
                throw new ModelException("attention " + att.name() + ": scale " + att.scale() + " with " + att.heads()
                        + " heads is not 1/sqrt(head width); only standard scaled attention can be trained");
            }
            if (!layers.isEmpty() && !layers.get(layers.size() - 1).output().equals(in)) {
                throw new ModelException("attention " + att.name() + ": its layer does not read the previous layer's output");
            }
            layers.add(new LayerNodes(in, q, k, v, att, out, n1, ffnIn, ffnOut, n2));
        }
        if (layers.isEmpty()) {
            throw new ModelException("graph " + g.name() + ": no attention layer, not a BERT-family encoder");
        }
        if (!(index.producer(layers.get(0).input()) instanceof LayerNorm embNorm)) {
            throw new ModelException("graph " + g.name() + ": the first layer's input is not an embedding layer norm");
        }
        // Embedding tables: Gathers of float constants reached from the embedding norm through Adds.
        List<Node> gathers = new ArrayList<>();
        List<String> work = new ArrayList<>(embNorm.inputs());
        Set<String> seen = new HashSet<>();
        while (!work.isEmpty()) {
            String t = work.remove(work.size() - 1);
            if (!seen.add(t)) {
                continue;
            }
            Node p = index.producer(t);
            if (p == null) {
                throw new ModelException("embedding norm " + embNorm.name() + ": input " + t + " is not computed in the graph");
            }
            switch (p.op()) {
                case "Add" -> work.addAll(p.inputs());
                case "Gather" -> gathers.add(p);
                default -> throw new ModelException("embedding norm " + embNorm.name() + ": unexpected " + p.op() + " node "
                        + p.name() + " in the embedding sum");
            }
        }
        String word = null, position = null, type = null;
        for (Node gather : gathers) {
            String table = gather.inputs().get(0), idx = gather.inputs().get(1);
            Tensor t = g.constants().get(table);
            if (t == null || t.dtype() != DType.FLOAT || t.rank() != 2) {
                throw new ModelException("gather " + gather.name() + ": table " + table + " is not a 2-D float constant");
            }
            if (index.isInput(idx) && idx.contains("type")) {
                type = table;
            } else if (index.isInput(idx)) {
                word = table;
            } else {
                position = table;
            }
        }
        if (word == null || position == null) {
            throw new ModelException("embedding norm " + embNorm.name() + ": word and position tables not found among "
                    + gathers.size() + " gathers");
        }
        LayerNodes l0 = layers.get(0);
        Tensor wt = g.constants().get(word), pt = g.constants().get(position);
        int h = l0.q.inFeatures();
        if (wt.dim(1) != h || pt.dim(1) != h || (type != null && g.constants().get(type).dim(1) != h)) {
            throw new ModelException("embedding tables of graph " + g.name() + " are not " + h + " wide");
        }
        EncoderConfig cfg;
        try {
            cfg = new EncoderConfig((int) wt.dim(0), (int) pt.dim(0), type == null ? 0 : (int) g.constants().get(type).dim(0),
                    h, l0.attention.heads(), l0.ffnIn.outFeatures(), layers.size(), embNorm.epsilon());
        } catch (IllegalArgumentException e) {
            throw new ModelException("graph " + g.name() + ": " + e.getMessage(), e);
        }
        for (LayerNodes l : layers) {
            if (l.attention.heads() != cfg.heads() || l.ffnIn.outFeatures() != cfg.ffn()
                    || l.norm1.epsilon() != cfg.eps() || l.norm2.epsilon() != cfg.eps()) {
                throw new ModelException("attention " + l.attention.name() + ": layers differ in heads, width or epsilon");
            }
        }
        return new BertGraph(g, word, position, type, embNorm, layers, cfg);
    }

    private static Linear linear(Node n, Node from, String role) throws ModelException {
        if (!(n instanceof Linear l)) {
            throw new ModelException("node " + from.name() + ": its " + role + " is "
                    + (n == null ? "not computed by a node" : n.op() + " " + n.name()) + ", not a fused Linear");
        }
        if (!role.startsWith("feed") && l.activation() != Activation.NONE) {
            throw new ModelException("linear " + l.name() + ": unexpected activation " + l.activation());
        }
        return l;
    }

    private static Node single(GraphIndex index, String t, Node from) throws ModelException {
        List<Node> cs = index.consumers(t);
        if (cs.size() != 1) {
            throw new ModelException("node " + from.name() + ": output " + t + " has " + cs.size()
                    + " readers, expected one");
        }
        return cs.get(0);
    }

    private static LayerNorm norm(Node n, String residual, Node from) throws ModelException {
        if (!(n instanceof LayerNorm ln) || ln.inputs().size() != 2 || !ln.inputs().get(1).equals(residual)) {
            throw new ModelException("node " + from.name() + ": not followed by a residual layer norm over " + residual);
        }
        return ln;
    }

    public EncoderConfig config() {
        return config;
    }

    public Graph graph() {
        return graph;
    }

    /**
     * The names of layer {@code l}'s fused linear layers, in the trainer's order: query, key, value, attention
     * output, feed-forward input, feed-forward output.
     *
     * @throws IndexOutOfBoundsException when there is no layer {@code l}
     */
    public List<String> linearNames(int l) {
        LayerNodes n = layers.get(l);
        return List.of(n.q.name(), n.k.name(), n.v.name(), n.out.name(), n.ffnIn.name(), n.ffnOut.name());
    }

    /** The teacher's weights as dense arrays. */
    public EncoderWeights weights() {
        int h = config.hidden();
        List<EncoderWeights.LayerWeights> ls = new ArrayList<>();
        for (LayerNodes l : layers) {
            float[] qkvW = new float[3 * h * h], qkvB = new float[3 * h];
            int i = 0;
            for (Linear p : List.of(l.q, l.k, l.v)) {
                System.arraycopy(p.weights().toDense(), 0, qkvW, i * h * h, h * h);
                float[] b = p.bias();
                if (b != null) {
                    System.arraycopy(b, 0, qkvB, i * h, h);
                }
                i++;
            }
            ls.add(new EncoderWeights.LayerWeights(qkvW, qkvB, l.out.weights().toDense(), bias(l.out), l.norm1.gamma(),
                    l.norm1.beta(), l.ffnIn.weights().toDense(), bias(l.ffnIn), l.ffnOut.weights().toDense(),
                    bias(l.ffnOut), l.norm2.gamma(), l.norm2.beta()));
        }
        return new EncoderWeights(graph.constants().get(wordTable).toFloatArray(),
                graph.constants().get(positionTable).toFloatArray(),
                typeTable == null ? null : graph.constants().get(typeTable).toFloatArray(), embNorm.gamma(),
                embNorm.beta(), ls);
    }

    private static float[] bias(Linear l) {
        float[] b = l.bias();
        return b == null ? new float[l.outFeatures()] : b;
    }

    /**
     * The student graph: this graph with only layers {@code keep} (teacher indices, increasing), each reading
     * the previous kept layer's output, and {@code w} (one entry per kept layer) as the weights of the
     * embeddings and kept layers. Every other node and constant is kept as it is.
     *
     * @throws IllegalArgumentException when {@code keep} is empty, out of range or not increasing, or the
     *                                  weights do not match
     */
    public Graph student(int[] keep, EncoderWeights w) {
        checkKeep(keep, layers.size());
        if (w.layers().size() != keep.length) {
            throw new IllegalArgumentException(w.layers().size() + " layers of weights for " + keep.length + " kept layers");
        }
        Set<Integer> kept = new HashSet<>();
        for (int k : keep) {
            kept.add(k);
        }
        Rewriter edits = graph.rewrite();
        Map<String, String> rename = new HashMap<>();
        for (int l = 0; l < layers.size(); l++) {
            if (!kept.contains(l)) {
                LayerNodes ln = layers.get(l);
                rename.put(ln.output(), resolve(rename, ln.input()));
                for (Node n : ln.nodes()) {
                    edits.remove(n);
                }
            }
        }
        // A graph output produced by a dropped layer keeps its name: the tensor it now stands for is renamed.
        Map<String, String> outputName = new HashMap<>();
        for (ValueInfo o : graph.outputs()) {
            String r = resolve(rename, o.name());
            if (!r.equals(o.name())) {
                outputName.put(r, o.name());
            }
        }
        java.util.function.UnaryOperator<String> map = t -> {
            String r = resolve(rename, t);
            return outputName.getOrDefault(r, r);
        };
        int h = config.hidden();
        for (int j = 0; j < keep.length; j++) {
            LayerNodes l = layers.get(keep[j]);
            EncoderWeights.LayerWeights lw = w.layers().get(j);
            for (int i = 0; i < 3; i++) {
                Linear p = List.of(l.q, l.k, l.v).get(i);
                float[] wq = java.util.Arrays.copyOfRange(lw.qkvW(), i * h * h, (i + 1) * h * h);
                float[] bq = java.util.Arrays.copyOfRange(lw.qkvB(), i * h, (i + 1) * h);
                edits.replace(p, linear(p, wq, bq));
            }
            edits.replace(l.out, linear(l.out, lw.outW(), lw.outB()));
            edits.replace(l.ffnIn, linear(l.ffnIn, lw.ffnInW(), lw.ffnInB()));
            edits.replace(l.ffnOut, linear(l.ffnOut, lw.ffnOutW(), lw.ffnOutB()));
            edits.replace(l.norm1, l.norm1.withGammaBeta(lw.norm1Gamma(), lw.norm1Beta()));
            edits.replace(l.norm2, l.norm2.withGammaBeta(lw.norm2Gamma(), lw.norm2Beta()));
        }
        edits.replace(embNorm, embNorm.withGammaBeta(w.embGamma(), w.embBeta()));
        put(edits, wordTable, w.word());
        put(edits, positionTable, w.position());
        if (typeTable != null) {
            put(edits, typeTable, w.type());
        }
        return edits.renameValues(map).removeUnusedConstants().build();
    }

    static void checkKeep(int[] keep, int layers) {
        if (keep.length == 0) {
            throw new IllegalArgumentException("a student keeps at least one layer");
        }
        for (int i = 0; i < keep.length; i++) {
            if (keep[i] < 0 || keep[i] >= layers || (i > 0 && keep[i] <= keep[i - 1])) {
                throw new IllegalArgumentException("layers " + java.util.Arrays.toString(keep)
                        + " must be increasing indices of the teacher's " + layers + " layers");
            }
        }
    }

    private void put(Rewriter edits, String name, float[] v) {
        Tensor old = graph.constants().get(name);
        edits.putConstant(name, Tensor.ofFloats(old.shape(), v)); // ofFloats copies
    }

    private static Linear linear(Linear l, float[] w, float[] b) {
        return new Linear(l.name(), l.inputs().get(0), l.outputs().get(0), Fp32Panels.pack(w, l.outFeatures(),
                l.inFeatures()), b, l.activation());
    }

    private static String resolve(Map<String, String> rename, String t) {
        String r = t;
        for (int guard = 0; rename.containsKey(r) && guard < 1_000_000; guard++) {
            r = rename.get(r);
        }
        return r;
    }
}
