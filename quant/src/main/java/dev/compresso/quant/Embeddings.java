package dev.compresso.quant;

import dev.compresso.engine.DType;
import dev.compresso.engine.Tensor;
import dev.compresso.engine.graph.Attribute;
import dev.compresso.engine.graph.Graph;
import dev.compresso.engine.graph.Node;
import dev.compresso.engine.graph.Rewriter;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Embedding-table compression: the lookups of large fp32 tables become int8 or fp16 lookups, spliced into a
 * pass's {@link Rewriter}.
 */
final class Embeddings {
    /** Embedding tables at least this large are compressed (word and position embeddings; not token types). */
    static final long MIN_TABLE = 1 << 16;

    private Embeddings() {}

    /** Gather nodes reading a large constant fp32 2-D table along axis 0: the embedding lookups. */
    static List<Node> gathers(Graph g) {
        List<Node> out = new ArrayList<>();
        for (Node n : g.nodes()) {
            if (n.op().equals("Gather") && n.domain().isEmpty() && n.intAttr("axis", 0) == 0 && n.inputs().size() == 2) {
                Tensor t = g.constants().get(n.inputs().get(0));
                if (t != null && t.dtype() == DType.FLOAT && t.rank() == 2 && t.size() >= MIN_TABLE) {
                    out.add(n);
                }
            }
        }
        return out;
    }

    /**
     * Replaces an embedding lookup by an int8 one: per-row symmetric codes and scales, gathered separately and
     * multiplied back ({@code Gather(q) → Cast → Mul(Gather(scale))}), so only the looked-up rows are widened.
     * Constants left unused are dropped when {@code g} is built.
     *
     * @return a report line
     */
    static String int8(Rewriter g, Node gather, Map<String, Object[]> cache) {
        String table = gather.inputs().get(0), idx = gather.inputs().get(1), out = gather.outputs().get(0);
        Tensor t = g.constant(table);
        int v = (int) t.dim(0), d = (int) t.dim(1);
        Object[] hit = cache.get(table);
        if (hit == null) {
            float[] w = t.toFloatArray();
            Int8Weights q = Int8Weights.quantize(table, w, v, d, Granularity.PER_CHANNEL);
            Tensor qt = Tensor.allocate(DType.INT8, new long[] {v, d});
            MemorySegment.copy(q.q(), 0, qt.data(), ValueLayout.JAVA_BYTE, 0, q.q().length);
            Tensor st = Tensor.ofFloats(new long[] {v, 1}, q.scales());
            float rel = maxErr(w, q.dequantize()) / Math.max(1e-30f, Int8Weights.maxAbs(w, 0, w.length));
            hit = new Object[] {qt, st, rel};
            cache.put(table, hit);
        }
        Tensor qt = (Tensor) hit[0], st = (Tensor) hit[1];
        String base = gather.name();
        g.putConstant(table + "/int8", qt);
        g.putConstant(table + "/int8_scale", st);
        List<Node> repl = List.of(
                new Node("Gather", "", base + "/int8", List.of(table + "/int8", idx), List.of(out + "/int8"), Map.of("axis", Attribute.of("axis", 0L))),
                new Node("Gather", "", base + "/int8_scale", List.of(table + "/int8_scale", idx), List.of(out + "/scale"), Map.of("axis", Attribute.of("axis", 0L))),
                new Node("Cast", "", base + "/int8_cast", List.of(out + "/int8"), List.of(out + "/widened"), Map.of("to", Attribute.of("to", (long) DType.FLOAT.onnxCode()))),
                new Node("Mul", "", base + "/int8_dequant", List.of(out + "/widened", out + "/scale"), List.of(out), Map.of()));
        g.splice(gather, repl).removeUnusedConstants();
        return String.format(java.util.Locale.ROOT, "%-48s embedding %6d x %-5d fp32 -> int8 per-row   max|err|/max|w| %.4f",
                gather.name(), v, d, (Float) hit[2]);
    }

    /** Replaces an embedding lookup by an fp16 one ({@code Gather(fp16) → Cast}). */
    static String fp16(Rewriter g, Node gather) {
        String table = gather.inputs().get(0), idx = gather.inputs().get(1), out = gather.outputs().get(0);
        Tensor t = g.constant(table);
        float[] w = t.toFloatArray();
        Fp16Weights.pack(table, w, 1, w.length); // range and finiteness checks
        Tensor h = Tensor.allocate(DType.FLOAT16, t.shape());
        for (int i = 0; i < w.length; i++) {
            h.data().setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, Float.floatToFloat16(w[i]));
        }
        g.putConstant(table + "/fp16", h);
        String base = gather.name();
        g.splice(gather, List.of(
                new Node("Gather", "", base + "/fp16", List.of(table + "/fp16", idx), List.of(out + "/fp16"), Map.of("axis", Attribute.of("axis", 0L))),
                new Node("Cast", "", base + "/fp16_cast", List.of(out + "/fp16"), List.of(out), Map.of("to", Attribute.of("to", (long) DType.FLOAT.onnxCode())))))
                .removeUnusedConstants();
        return String.format(java.util.Locale.ROOT, "%-48s embedding %6d x %-5d fp32 -> fp16", gather.name(), t.dim(0), t.dim(1));
    }

    static float maxErr(float[] a, float[] b) {
        float m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }
}
