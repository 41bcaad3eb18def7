package dev.compresso.prune;

import dev.compresso.engine.DType;
import dev.compresso.engine.Model;
import dev.compresso.engine.Session;
import dev.compresso.engine.SessionOptions;
import dev.compresso.engine.Tensor;
import dev.compresso.engine.graph.Attention;
import dev.compresso.engine.graph.Graph;
import dev.compresso.engine.graph.Linear;
import dev.compresso.engine.graph.Node;
import dev.compresso.engine.graph.ValueInfo;
import dev.compresso.engine.kernel.Activation;
import dev.compresso.engine.weights.Fp32Panels;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * A one-layer encoder block in the engine's fused IR, shaped like BERT's: q, k, v → attention → output
 * projection → residual add → up projection (GELU) → down projection → residual add. Widths are awkward on
 * purpose (not multiples of 4 or 16).
 */
final class TinyEncoder {
    final int hidden, heads, inner;

    TinyEncoder(int hidden, int heads, int inner) {
        this.hidden = hidden;
        this.heads = heads;
        this.inner = inner;
    }

    static float[] gaussian(int n, Random r, double scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (r.nextGaussian() * scale);
        }
        return v;
    }

    static ValueInfo vi(String n) {
        return new ValueInfo(n, DType.FLOAT, List.of());
    }

    /** The graph with random weights; {@code edit} may change each dense weight matrix before packing. */
    Graph graph(long seed, WeightEdit edit) {
        Random r = new Random(seed);
        List<Node> nodes = new ArrayList<>();
        nodes.add(linear("q", "x", "q_out", hidden, hidden, Activation.NONE, r, edit));
        nodes.add(linear("k", "x", "k_out", hidden, hidden, Activation.NONE, r, edit));
        nodes.add(linear("v", "x", "v_out", hidden, hidden, Activation.NONE, r, edit));
        nodes.add(new Attention("att", List.of("q_out", "k_out", "v_out"), "att_out", heads,
                (float) (1 / Math.sqrt((double) hidden / heads))));
        nodes.add(linear("o", "att_out", "o_out", hidden, hidden, Activation.NONE, r, edit));
        nodes.add(new Node("Add", "", "res1", List.of("x", "o_out"), List.of("h1"), Map.of()));
        nodes.add(linear("up", "h1", "up_out", inner, hidden, Activation.GELU, r, edit));
        nodes.add(linear("down", "up_out", "down_out", hidden, inner, Activation.NONE, r, edit));
        nodes.add(new Node("Add", "", "res2", List.of("h1", "down_out"), List.of("y"), Map.of()));
        return new Graph("tiny", List.of(vi("x")), List.of(vi("y")), nodes, Map.of());
    }

    interface WeightEdit {
        void edit(String layer, float[] w, int n, int k);
    }

    private static Linear linear(String name, String in, String out, int n, int k, Activation act, Random r, WeightEdit edit) {
        float[] w = gaussian(n * k, r, 1 / Math.sqrt(k));
        float[] b = gaussian(n, r, 0.1);
        if (edit != null) {
            edit.edit(name, w, n, k);
        }
        return new Linear(name, in, out, Fp32Panels.pack(w, n, k), b, act);
    }

    float[] input(int batch, int seq, long seed) {
        return gaussian(batch * seq * hidden, new Random(seed), 1);
    }

    float[] run(Graph g, float[] x, int batch, int seq) throws Exception {
        try (Model m = Model.of(g); Session s = m.newSession(new SessionOptions().threads(2))) {
            return s.run(Map.of("x", Tensor.ofFloats(new long[] {batch, seq, hidden}, x))).get("y").toFloatArray();
        }
    }
}
