package dev.compresso.prune;

import dev.compresso.engine.graph.Attention;
import dev.compresso.engine.graph.Graph;
import dev.compresso.engine.graph.GraphIndex;
import dev.compresso.engine.graph.Linear;
import dev.compresso.engine.graph.Node;
import java.util.ArrayList;
import java.util.List;

/**
 * Finds the units structured pruning removes, by the shape of the graph alone (no layer names): feed-forward
 * pairs (a linear layer read only by another linear layer: its output neurons are the second one's input
 * features) and attention blocks (q, k, v made by linear layers, the merged heads read by one linear layer).
 */
final class Structured {
    private Structured() {}

    /** A feed-forward pair {@code up -> down}: neuron {@code j} is row {@code j} of up and column {@code j} of down. */
    record Ffn(Linear up, Linear down) {}

    /** An attention block whose heads can be removed. */
    record Heads(Attention attention, Linear q, Linear k, Linear v, Linear out) {
        int headDim() {
            return q.outFeatures() / attention.heads();
        }
    }

    static List<Ffn> ffns(Graph g) {
        GraphIndex index = GraphIndex.of(g);
        List<Ffn> out = new ArrayList<>();
        for (Linear up : g.linears()) {
            String t = up.outputs().get(0);
            List<Node> cs = index.consumers(t);
            if (!index.isOutput(t) && cs.size() == 1 && cs.get(0) instanceof Linear down
                    && down.inFeatures() == up.outFeatures() && up.outFeatures() > 1) {
                out.add(new Ffn(up, down));
            }
        }
        return out;
    }

    static List<Heads> heads(Graph g) {
        GraphIndex index = GraphIndex.of(g);
        List<Heads> out = new ArrayList<>();
        for (Node n : g.nodes()) {
            if (!(n instanceof Attention a) || a.heads() < 2) {
                continue;
            }
            Linear[] qkv = new Linear[3];
            boolean ok = true;
            for (int i = 0; i < 3 && ok; i++) {
                String t = a.inputs().get(i);
                // Shape nodes may read q for the batch and sequence sizes, which removing heads leaves alone.
                ok = index.producer(t) instanceof Linear l && !index.isOutput(t)
                        && index.consumers(t).stream().allMatch(c -> c == a || c.op().equals("Shape"))
                        && l.outFeatures() % a.heads() == 0;
                if (ok) {
                    qkv[i] = (Linear) index.producer(t);
                }
            }
            if (!ok || qkv[0] == qkv[1] || qkv[1] == qkv[2] || qkv[0] == qkv[2]
                    || qkv[0].outFeatures() != qkv[1].outFeatures() || qkv[0].outFeatures() != qkv[2].outFeatures()) {
                continue;
            }
            String t = a.outputs().get(0);
            List<Node> cs = index.consumers(t);
            if (index.isOutput(t) || cs.size() != 1 || !(cs.get(0) instanceof Linear o)
                    || o.inFeatures() != qkv[0].outFeatures()) {
                continue;
            }
            out.add(new Heads(a, qkv[0], qkv[1], qkv[2], o));
        }
        return out;
    }

    /** Sum of squares of row {@code r} of {@code W[n][k]}. */
    static double rowSq(float[] w, int k, int r) {
        double s = 0;
        for (int c = 0; c < k; c++) {
            s += (double) w[r * k + c] * w[r * k + c];
        }
        return s;
    }

    /** Sum of squares of column {@code c} of {@code W[n][k]}. */
    static double colSq(float[] w, int n, int k, int c) {
        double s = 0;
        for (int r = 0; r < n; r++) {
            s += (double) w[r * k + c] * w[r * k + c];
        }
        return s;
    }

    /** The rows of {@code W[n][k]} whose {@code keep} flag is set. */
    static float[] keepRows(float[] w, int k, boolean[] keep) {
        int kept = 0;
        for (boolean b : keep) {
            kept += b ? 1 : 0;
        }
        float[] out = new float[kept * k];
        int p = 0;
        for (int r = 0; r < keep.length; r++) {
            if (keep[r]) {
                System.arraycopy(w, r * k, out, p * k, k);
                p++;
            }
        }
        return out;
    }

    /** The columns of {@code W[n][k]} whose {@code keep} flag is set. */
    static float[] keepCols(float[] w, int n, boolean[] keep) {
        int k = keep.length, kept = 0;
        for (boolean b : keep) {
            kept += b ? 1 : 0;
        }
        float[] out = new float[n * kept];
        for (int r = 0; r < n; r++) {
            int p = 0;
            for (int c = 0; c < k; c++) {
                if (keep[c]) {
                    out[r * kept + p++] = w[r * k + c];
                }
            }
        }
        return out;
    }

    /** The entries of {@code v} whose flag is set, or null for a null {@code v}. */
    static float[] keep(float[] v, boolean[] keep) {
        if (v == null) {
            return null;
        }
        int kept = 0;
        for (boolean b : keep) {
            kept += b ? 1 : 0;
        }
        float[] out = new float[kept];
        int p = 0;
        for (int i = 0; i < v.length; i++) {
            if (keep[i]) {
                out[p++] = v[i];
            }
        }
        return out;
    }
}
