package dev.compresso.engine.onnx;

import dev.compresso.engine.DType;
import dev.compresso.engine.ModelException;
import dev.compresso.engine.Tensor;
import dev.compresso.engine.graph.Attention;
import dev.compresso.engine.graph.Attribute;
import dev.compresso.engine.graph.Graph;
import dev.compresso.engine.graph.GraphIndex;
import dev.compresso.engine.graph.LayerNorm;
import dev.compresso.engine.graph.Linear;
import dev.compresso.engine.graph.Node;
import dev.compresso.engine.graph.Rewriter;
import dev.compresso.engine.kernel.Activation;
import dev.compresso.engine.kernel.Int8Mode;
import dev.compresso.engine.weights.Fp32Panels;
import dev.compresso.engine.weights.Int8Panels;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Fuses the hot transformer patterns into engine operators: {@code MatMul}/{@code Gemm} with constant weights
 * (+ bias {@code Add}, + Erf-GELU) into {@link Linear} on packed panels; ONNX Runtime's dynamic int8 pattern
 * ({@code DynamicQuantizeLinear → MatMulInteger → Cast → Mul}) into a dynamic fake-quantization plus an int8
 * {@link Linear}; the LayerNorm decomposition (optionally with the residual add before it) into
 * {@link LayerNorm}; and the multi-head attention block into {@link Attention}. Patterns whose intermediate
 * tensors are read elsewhere are left alone.
 */
final class Fusion {
    private final Map<String, Tensor> consts;
    /** The graph of the pass in progress, its index and its edits. */
    private GraphIndex index;
    private Rewriter edits;

    private Fusion(Graph g) {
        this.consts = g.constants();
    }

    static Graph fuse(Graph g, String file) throws ModelException {
        Fusion f = new Fusion(g);
        g = f.pass(g, f::quantLinear);
        g = f.pass(g, f::linear);
        g = f.pass(g, f::biasAndGelu);
        g = f.pass(g, f::layerNorm);
        return f.pass(g, f::attention);
    }

    interface Rule {
        void apply(Node n);
    }

    /** Applies a rule at every node not yet edited in this pass; the edits build the pass's result. */
    private Graph pass(Graph g, Rule r) {
        index = GraphIndex.of(g);
        edits = g.rewrite();
        for (Node n : g.nodes()) {
            if (!edits.touched(n)) {
                r.apply(n);
            }
        }
        return edits.build();
    }

    private Node producer(String name) {
        return index.producer(name);
    }

    private List<Node> cons(String name) {
        return index.consumers(name);
    }

    private boolean isOutput(String name) {
        return index.isOutput(name);
    }

    private void remove(Node n) {
        edits.remove(n);
    }

    private void replace(Node n, Node by) {
        edits.replace(n, by);
    }

    private boolean touched(Node n) {
        return edits.touched(n);
    }

    /** The only reader of {@code name} not edited yet in this pass, or null (several readers, or a graph output). */
    private Node single(String name) {
        Node n = index.single(name);
        return n != null && !touched(n) ? n : null;
    }

    private Node single(String name, String op) {
        Node n = single(name);
        return n != null && n.op().equals(op) && n.domain().isEmpty() ? n : null;
    }

    private Tensor constant(String name) {
        return consts.get(name);
    }

    /** The value of a constant float scalar (any shape of one element), or NaN. */
    private float scalar(String name) {
        Tensor t = consts.get(name);
        if (t == null || t.size() != 1 || t.dtype() != DType.FLOAT) {
            return Float.NaN;
        }
        return t.data().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, 0);
    }

    private static String other(Node n, String name) {
        if (n.inputs().size() != 2) {
            return null;
        }
        if (n.inputs().get(0).equals(name)) {
            return n.inputs().get(1);
        }
        return n.inputs().get(1).equals(name) ? n.inputs().get(0) : null;
    }

    private static float[] floats(Tensor t) {
        return t.toFloatArray();
    }

    /** A constant float vector of exactly {@code n} values shaped [n] or [1, ..., 1, n], or null. */
    private float[] vector(String name, int n) {
        Tensor t = consts.get(name);
        if (t == null || t.dtype() != DType.FLOAT || t.size() != n || t.rank() < 1 || t.dim(t.rank() - 1) != n) {
            return null;
        }
        return floats(t);
    }

    // ---- MatMul / Gemm with constant weights ----

    private void linear(Node n) {
        if (n.op().equals("MatMul") && n.domain().isEmpty()) {
            Tensor w = constant(n.inputs().get(1));
            if (w == null || w.dtype() != DType.FLOAT || w.rank() != 2 || consts.containsKey(n.inputs().get(0))) {
                return;
            }
            int k = (int) w.dim(0), nOut = (int) w.dim(1);
            float[] src = floats(w), dense = new float[nOut * k];
            for (int r = 0; r < k; r++) {
                for (int c = 0; c < nOut; c++) {
                    dense[c * k + r] = src[r * nOut + c];
                }
            }
            replace(n, new Linear(n.name(), n.inputs().get(0), n.outputs().get(0), Fp32Panels.pack(dense, nOut, k),
                    null, Activation.NONE));
        } else if (n.op().equals("Gemm") && n.domain().isEmpty()) {
            Tensor w = constant(n.inputs().get(1));
            if (w == null || w.dtype() != DType.FLOAT || w.rank() != 2 || n.intAttr("transA", 0) != 0
                    || n.floatAttr("alpha", 1f) != 1f || n.floatAttr("beta", 1f) != 1f) {
                return;
            }
            boolean tb = n.intAttr("transB", 0) != 0;
            int nOut = (int) (tb ? w.dim(0) : w.dim(1)), k = (int) (tb ? w.dim(1) : w.dim(0));
            float[] bias = null;
            if (n.inputs().size() > 2 && !n.inputs().get(2).isEmpty()) {
                bias = vector(n.inputs().get(2), nOut);
                if (bias == null) {
                    return;
                }
            }
            float[] src = floats(w), dense = new float[nOut * k];
            for (int r = 0; r < nOut; r++) {
                for (int c = 0; c < k; c++) {
                    dense[r * k + c] = tb ? src[r * k + c] : src[c * nOut + r];
                }
            }
            replace(n, new Linear(n.name(), n.inputs().get(0), n.outputs().get(0), Fp32Panels.pack(dense, nOut, k),
                    bias, Activation.NONE));
        }
    }

    // ---- ONNX Runtime's dynamic int8 MatMul ----

    private final Map<String, String> fakeQuantOf = new HashMap<>();

    private void quantLinear(Node mmi) {
        if (!mmi.op().equals("MatMulInteger") || mmi.inputs().size() < 2) {
            return;
        }
        Node dql = producer(mmi.inputs().get(0));
        Tensor wq = constant(mmi.inputs().get(1));
        if (dql == null || !dql.op().equals("DynamicQuantizeLinear") || wq == null || wq.rank() != 2
                || !dql.outputs().get(0).equals(mmi.inputs().get(0))
                || mmi.inputs().size() < 3 || !mmi.inputs().get(2).equals(dql.outputs().get(2))) {
            return;
        }
        Node cast = single(mmi.outputs().get(0), "Cast");
        if (cast == null || cast.intAttr("to", 0) != DType.FLOAT.onnxCode()) {
            return;
        }
        Node mul = single(cast.outputs().get(0), "Mul");
        if (mul == null) {
            return;
        }
        Node scaleMul = producer(other(mul, cast.outputs().get(0)));
        if (scaleMul == null || !scaleMul.op().equals("Mul")) {
            return;
        }
        String wScaleName = other(scaleMul, dql.outputs().get(1));
        Tensor ws = wScaleName == null ? null : constant(wScaleName);
        int k = (int) wq.dim(0), nOut = (int) wq.dim(1);
        if (ws == null || ws.dtype() != DType.FLOAT || (ws.size() != 1 && ws.size() != nOut)) {
            return;
        }
        Tensor wz = mmi.inputs().size() > 3 && !mmi.inputs().get(3).isEmpty() ? constant(mmi.inputs().get(3)) : null;
        if (mmi.inputs().size() > 3 && !mmi.inputs().get(3).isEmpty() && wz == null) {
            return;
        }
        if (wz != null && wz.size() != 1 && wz.size() != nOut) {
            return;
        }
        long[] q = wq.toLongArray();
        long[] z = wz == null ? new long[] {0} : wz.toLongArray();
        float[] sc = ws.toFloatArray();
        byte[] packed = new byte[nOut * k];
        float[] scales = new float[nOut];
        for (int c = 0; c < nOut; c++) {
            long zp = z[z.length == 1 ? 0 : c];
            scales[c] = sc[sc.length == 1 ? 0 : c];
            for (int r = 0; r < k; r++) {
                long v = q[r * nOut + c] - zp;
                if (v < -128 || v > 127) {
                    return; // not representable as symmetric int8: leave the exact unfused path
                }
                packed[c * k + r] = (byte) v;
            }
        }
        String x = dql.inputs().get(0);
        String fq = fakeQuantOf.get(x);
        if (fq == null) {
            fq = x + "/dynamic_fake_quant";
            fakeQuantOf.put(x, fq);
            edits.insertBefore(dql, new Node("DynamicFakeQuant", "dev.compresso", dql.name() + "/fake_quant", List.of(x),
                    List.of(fq), Map.of()));
        }
        remove(mmi);
        remove(cast);
        // W8A32: the activations are already exactly the dequantized uint8 values, so fp32 products with the
        // int8 weights reproduce MatMulInteger's integer sums up to fp32 rounding.
        replace(mul, new Linear(mmi.name(), fq, mul.outputs().get(0), Int8Panels.pack(packed, scales, nOut, k),
                null, Activation.NONE, Int8Mode.W8A32, Float.NaN));
    }

    // ---- bias and GELU into Linear ----

    private void biasAndGelu(Node n) {
        if (!(n instanceof Linear l)) {
            return;
        }
        String out = l.outputs().get(0);
        float[] bias = l.bias();
        Linear cur = l;
        Node add = single(out, "Add");
        if (bias == null && add != null) {
            float[] b = vector(other(add, out), l.outFeatures());
            if (b != null) {
                remove(add);
                out = add.outputs().get(0);
                cur = new Linear(l.name(), l.inputs().get(0), out, l.weights(), b, l.activation(), l.int8Mode(),
                        l.staticActivationScale());
            }
        }
        // Exact GELU as exported from PyTorch: y = (x * (erf(x / sqrt2) + 1)) * 0.5
        List<Node> cs = isOutput(out) ? List.of() : cons(out);
        if (cs.size() == 2 && cur.activation() == Activation.NONE) {
            Node div = null, mul = null;
            for (Node c : cs) {
                if (c.op().equals("Div") && c.inputs().get(0).equals(out)
                        && Math.abs(scalar(c.inputs().get(1)) - 1.4142135f) < 1e-5f) {
                    div = c;
                } else if (c.op().equals("Mul") && c.inputs().get(0).equals(out)
                        && Math.abs(scalar(c.inputs().get(1)) - 0.70710677f) < 1e-6f) {
                    div = c;
                } else if (c.op().equals("Mul")) {
                    mul = c;
                }
            }
            Node erf = div == null ? null : single(div.outputs().get(0), "Erf");
            Node plus = erf == null ? null : single(erf.outputs().get(0), "Add");
            if (plus != null && scalar(other(plus, erf.outputs().get(0))) == 1f && mul != null
                    && out.equals(other(mul, plus.outputs().get(0)))) {
                Node half = single(mul.outputs().get(0), "Mul");
                if (half != null && scalar(other(half, mul.outputs().get(0))) == 0.5f) {
                    remove(div);
                    remove(erf);
                    remove(plus);
                    remove(mul);
                    remove(half);
                    cur = new Linear(l.name(), l.inputs().get(0), half.outputs().get(0), l.weights(), cur.bias(),
                            Activation.GELU, l.int8Mode(), l.staticActivationScale());
                    if (cur.outputs().get(0).equals(half.outputs().get(0)) && add != null && touched(add)) {
                        // bias add already removed above
                    }
                }
            }
        }
        if (cur != l) {
            replace(l, cur);
        }
    }

    // ---- LayerNorm ----

    private boolean lastAxisMean(Node n) {
        if (!n.op().equals("ReduceMean") || n.intAttr("keepdims", 1) == 0) {
            return false;
        }
        Attribute a = n.attribute("axes");
        long[] axes = a != null ? a.ints() : n.inputs().size() > 1 && constant(n.inputs().get(1)) != null
                ? constant(n.inputs().get(1)).toLongArray() : null;
        return axes != null && axes.length == 1 && axes[0] == -1;
    }

    private void layerNorm(Node r1) {
        if (!lastAxisMean(r1)) {
            return;
        }
        String x = r1.inputs().get(0);
        Node sub = single(r1.outputs().get(0), "Sub");
        if (sub == null || !sub.inputs().get(0).equals(x) || !sub.inputs().get(1).equals(r1.outputs().get(0))) {
            return;
        }
        String d = sub.outputs().get(0);
        List<Node> dc = cons(d);
        if (dc.size() != 2 || isOutput(d)) {
            return;
        }
        Node pow = dc.get(0).op().equals("Pow") ? dc.get(0) : dc.get(1);
        Node div = dc.get(0) == pow ? dc.get(1) : dc.get(0);
        if (!pow.op().equals("Pow") || !div.op().equals("Div") || scalar(pow.inputs().get(1)) != 2f
                || !pow.inputs().get(0).equals(d) || !div.inputs().get(0).equals(d)) {
            return;
        }
        Node r2 = single(pow.outputs().get(0));
        if (r2 == null || !lastAxisMean(r2)) {
            return;
        }
        Node addEps = single(r2.outputs().get(0), "Add");
        float eps = addEps == null ? Float.NaN : scalar(other(addEps, r2.outputs().get(0)));
        Node sqrt = addEps == null ? null : single(addEps.outputs().get(0), "Sqrt");
        if (Float.isNaN(eps) || sqrt == null || !div.inputs().get(1).equals(sqrt.outputs().get(0))
                || single(sqrt.outputs().get(0)) != div) {
            return;
        }
        Node mul = single(div.outputs().get(0), "Mul");
        Node add = mul == null ? null : single(mul.outputs().get(0), "Add");
        if (add == null) {
            return;
        }
        String gName = other(mul, div.outputs().get(0)), bName = other(add, mul.outputs().get(0));
        Tensor gt = gName == null ? null : constant(gName);
        if (gt == null || gt.rank() != 1) {
            return;
        }
        int ch = (int) gt.size();
        float[] gamma = vector(gName, ch), beta = vector(bName, ch);
        if (gamma == null || beta == null) {
            return;
        }
        List<String> inputs = List.of(x);
        Node res = producer(x);
        List<Node> xc = cons(x);
        if (res != null && res.op().equals("Add") && res.domain().isEmpty() && !isOutput(x)
                && xc.size() == 2 && xc.contains(r1) && xc.contains(sub) && !consts.containsKey(res.inputs().get(0))
                && !consts.containsKey(res.inputs().get(1)) && !touched(res)) {
            inputs = List.of(res.inputs().get(0), res.inputs().get(1));
            remove(res);
        }
        for (Node n : List.of(r1, sub, pow, r2, addEps, sqrt, div, mul)) {
            remove(n);
        }
        replace(add, new LayerNorm(r1.name().replace("/ReduceMean", ""), inputs, add.outputs().get(0), gamma, beta, eps));
    }

    // ---- attention ----

    private static boolean perm(Node t, long... p) {
        if (t == null || !t.op().equals("Transpose")) {
            return false;
        }
        Attribute a = t.attribute("perm");
        return a != null && java.util.Arrays.equals(a.ints(), p);
    }

    /** The constant at {@code index} of a Reshape's target shape (a constant or a Concat of pieces), or -2. */
    private long shapeElement(String shapeName, int index, int rank) {
        Tensor t = constant(shapeName);
        if (t != null) {
            long[] v = t.toLongArray();
            return v.length == rank ? v[index] : -2;
        }
        Node cat = producer(shapeName);
        if (cat == null || !cat.op().equals("Concat") || cat.inputs().size() != rank) {
            return -2;
        }
        Tensor piece = constant(cat.inputs().get(index));
        return piece != null && piece.size() == 1 ? piece.toLongArray()[0] : -2;
    }

    /** {@code q} of {@code Transpose(Reshape(q, [B, S, H, D]), perm)}, or null; heads into {@code h[0]}. */
    private String headSplit(String name, long[] perm, long[] h) {
        Node t = producer(name);
        if (!perm(t, perm) || single(name) == null) {
            return null;
        }
        Node r = producer(t.inputs().get(0));
        if (r == null || !r.op().equals("Reshape") || single(r.outputs().get(0)) != t) {
            return null;
        }
        long heads = shapeElement(r.inputs().get(1), 2, 4);
        if (heads <= 0 || (h[0] != 0 && h[0] != heads)) {
            return null;
        }
        h[0] = heads;
        return r.inputs().get(0);
    }

    /** Whether a shape tensor is only read by {@code Gather(axis 0)} at constant index 0 or 1. */
    private boolean batchSeqOnly(String shapeOut) {
        if (isOutput(shapeOut)) {
            return false;
        }
        for (Node g : cons(shapeOut)) {
            Tensor idx = g.inputs().size() == 2 ? constant(g.inputs().get(1)) : null;
            if (!g.op().equals("Gather") || g.intAttr("axis", 0) != 0 || idx == null || idx.size() != 1) {
                return false;
            }
            long i = idx.toLongArray()[0];
            if (i != 0 && i != 1) {
                return false;
            }
        }
        return true;
    }

    private void attention(Node sm) {
        if (!sm.op().equals("Softmax") || sm.intAttr("axis", -1) != -1 && sm.intAttr("axis", -1) != 3) {
            return;
        }
        String in = sm.inputs().get(0);
        Node p = producer(in);
        String mask = null;
        List<Node> dead = new ArrayList<>();
        if (p != null && p.op().equals("Add") && single(in) == sm) {
            Node a0 = producer(p.inputs().get(0)), a1 = producer(p.inputs().get(1));
            boolean firstScores = a0 != null && (a0.op().equals("Div") || a0.op().equals("Mul") || a0.op().equals("MatMul"));
            boolean secondScores = a1 != null && (a1.op().equals("Div") || a1.op().equals("Mul") || a1.op().equals("MatMul"));
            if (firstScores && single(p.inputs().get(0)) == p) {
                mask = p.inputs().get(1);
                p = a0;
            } else if (secondScores && single(p.inputs().get(1)) == p) {
                mask = p.inputs().get(0);
                p = a1;
            } else {
                return;
            }
            dead.add(producer(in));
        }
        float scale = 1f;
        if (p != null && (p.op().equals("Div") || p.op().equals("Mul")) && single(p.outputs().get(0)) != null) {
            float c = scalar(p.inputs().get(1));
            if (Float.isNaN(c)) {
                return;
            }
            scale = p.op().equals("Div") ? 1f / c : c;
            dead.add(p);
            p = producer(p.inputs().get(0));
        }
        if (p == null || !p.op().equals("MatMul") || single(p.outputs().get(0)) == null) {
            return;
        }
        Node qk = p;
        long[] h = {0};
        String q = headSplit(qk.inputs().get(0), new long[] {0, 2, 1, 3}, h);
        String k = headSplit(qk.inputs().get(1), new long[] {0, 2, 3, 1}, h);
        Node pv = single(sm.outputs().get(0), "MatMul");
        if (q == null || k == null || pv == null || !pv.inputs().get(0).equals(sm.outputs().get(0))) {
            return;
        }
        String v = headSplit(pv.inputs().get(1), new long[] {0, 2, 1, 3}, h);
        Node tr = single(pv.outputs().get(0), "Transpose");
        if (v == null || !perm(tr, 0, 2, 1, 3)) {
            return;
        }
        // The merged-heads tensor [B, S, H, D] is read by the final Reshape and, in PyTorch exports, by Shape
        // nodes whose dimensions 0 and 1 (B, S) build the target shape. Those may read q instead ([B, S, H·D]).
        Node rs = null;
        List<Node> shapes = new ArrayList<>();
        for (Node c : cons(tr.outputs().get(0))) {
            if (c.op().equals("Reshape") && rs == null) {
                rs = c;
            } else if (c.op().equals("Shape") && c.attributes().isEmpty() && batchSeqOnly(c.outputs().get(0))) {
                shapes.add(c);
            } else {
                return;
            }
        }
        if (rs == null || isOutput(tr.outputs().get(0)) || shapeElement(rs.inputs().get(1), 2, 3) <= 0) {
            return;
        }
        for (Node sh : shapes) {
            replace(sh, new Node("Shape", "", sh.name(), List.of(q), sh.outputs(), Map.of()));
        }
        if (mask != null) {
            Tensor mc = constant(mask);
            if (mc != null && mc.dtype() != DType.FLOAT) {
                return;
            }
        }
        // The head-split Transpose/Reshape nodes and the Concat shape chains die in dead-node elimination.
        for (Node n : dead) {
            remove(n);
        }
        remove(qk);
        remove(sm);
        remove(pv);
        remove(tr);
        List<String> ins = mask == null ? List.of(q, k, v) : List.of(q, k, v, mask);
        String name = sm.name().replace("/Softmax", "/Attention");
        replace(rs, new Attention(name, ins, rs.outputs().get(0), (int) h[0], scale));
    }
}
