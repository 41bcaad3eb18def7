package dev.compresso.prune;

import dev.compresso.engine.weights.Bsr16Matrix;
import dev.compresso.engine.weights.BsrMatrix;
import dev.compresso.engine.graph.Attention;
import dev.compresso.engine.graph.Graph;
import dev.compresso.engine.graph.Linear;
import dev.compresso.engine.graph.Rewriter;
import dev.compresso.engine.kernel.KernelPool;
import dev.compresso.engine.weights.PackedWeights;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;

/**
 * One-shot pruning passes over the engine graph. Each pass takes a graph (left untouched) and returns a new
 * graph and a per-layer report. Unstructured, block and 2:4 masks zero weights; each pruned layer is then
 * stored in the format that ran fastest on its own weights in a timed probe ({@link Layout#PROBE}), never in
 * one picked by a sparsity rule. Structured passes physically remove FFN neurons or attention heads: the
 * matrices get smaller and stay dense.
 */
public final class Pruner {

    /** Which weights go. */
    public enum Method {
        /** One magnitude threshold across all linear layers, with a per-layer floor. */
        GLOBAL("global"),
        /** The same fraction of smallest-magnitude weights in every linear layer. */
        MAGNITUDE("magnitude"),
        /** Whole 4x1 blocks (the BSR kernel's block shape) of smallest L2 norm, the same fraction per layer. */
        BLOCK("block"),
        /** Whole 4x1 blocks of smallest L2 norm under one threshold across all layers, with the per-layer floor. */
        BLOCK_GLOBAL("block-global"),
        /** Whole 16x1 blocks (the bsr16 kernel's, one vector of output channels) of smallest L2 norm, per layer. */
        BLOCK16("block16"),
        /** Whole 16x1 blocks of smallest L2 norm under one threshold across all layers, with the per-layer floor. */
        BLOCK16_GLOBAL("block16-global"),
        /** In every 4 consecutive weights along K, the 2 smallest (sparsity fixed at 50%). */
        NM_2_4("2:4"),
        /** Whole feed-forward neurons (rows of the up projection, columns of the down projection). */
        FFN("ffn"),
        /** Whole attention heads (rows of q, k, v; columns of the output projection; the head count). */
        HEADS("heads");

        private final String cli;

        Method(String cli) {
            this.cli = cli;
        }

        /** @return the command-line name */
        public String cliName() {
            return cli;
        }

        /**
         * @param s {@code global}, {@code magnitude}, {@code block}, {@code block-global}, {@code block16}, {@code block16-global}, {@code 2:4}, {@code ffn} or
         *          {@code heads}
         * @return the method
         * @throws IllegalArgumentException for anything else
         */
        public static Method parse(String s) {
            for (Method m : values()) {
                if (m.cli.equals(s)) {
                    return m;
                }
            }
            throw new IllegalArgumentException("unknown method '" + s + "': use global, magnitude, block, block-global, block16, block16-global, 2:4, heads or ffn");
        }
    }

    /**
     * Options.
     *
     * @param method       the pass
     * @param sparsity     target fraction in [0, 1]: of weights (global, magnitude), of blocks (block), of
     *                     neurons (ffn) or of heads (heads); ignored by 2:4
     * @param floor        global: the least fraction of weights every layer keeps, in [0, 1]
     * @param layout       how pruned layers are stored ({@link Layout#PROBE}: the fastest measured format)
     * @param values       stored element type (int8 or fp16: prune, then quantize)
     * @param probeRows    activation rows the probe multiplies (batch x sequence, e.g. 128)
     * @param probeThreads kernel threads of the probe
     */
    public record Options(Method method, double sparsity, double floor, Layout layout, Layout.Values values,
            int probeRows, int probeThreads) {

        /**
         * @throws IllegalArgumentException when sparsity or floor are outside [0, 1]
         */
        public Options {
            if (!(sparsity >= 0 && sparsity <= 1)) {
                throw new IllegalArgumentException("sparsity must be in [0, 1], not " + sparsity);
            }
            if (!(floor >= 0 && floor <= 1)) {
                throw new IllegalArgumentException("floor must be in [0, 1], not " + floor);
            }
        }

        /** Defaults: floor 2%, probed layout, fp32 values, 128 probe rows, all cores. */
        public static Options of(Method method, double sparsity) {
            return new Options(method, sparsity, 0.02, Layout.PROBE, Layout.Values.FP32, 128, KernelPool.cores());
        }

        /** @return a copy with another layout */
        public Options withLayout(Layout l) {
            return new Options(method, sparsity, floor, l, values, probeRows, probeThreads);
        }

        /** @return a copy with another sparsity */
        public Options withSparsity(double s) {
            return new Options(method, s, floor, layout, values, probeRows, probeThreads);
        }

        /** @return a copy with another value type */
        public Options withValues(Layout.Values v) {
            return new Options(method, sparsity, floor, layout, v, probeRows, probeThreads);
        }
    }

    /**
     * What happened to one linear layer.
     *
     * @param name      layer name
     * @param out       output features now
     * @param in        input features now
     * @param sparsity  fraction of the original {@code out x in} weights that are zero or removed
     * @param pattern   the pattern of the zeros ({@code dense} for structured removal)
     * @param kernel    the stored format, i.e. the kernel that runs it
     * @param bytes     bytes of the stored weights
     * @param denseBytes bytes of the original weights
     * @param probe     the probe's timings, or empty
     */
    public record LayerReport(String name, int out, int in, double sparsity, String pattern, String kernel, long bytes,
            long denseBytes, String probe) {
        /** @return one report line */
        public String line() {
            return String.format(Locale.ROOT, "%-48s %5d x %-5d sparsity %6.2f%%  %-12s %-12s %10d bytes (%.3fx)%s", name,
                    out, in, 100 * sparsity, pattern, kernel, bytes, denseBytes == 0 ? 0 : (double) bytes / denseBytes,
                    probe.isEmpty() ? "" : "  probe: " + probe);
        }
    }

    /**
     * The outcome.
     *
     * @param graph  the pruned graph (a new graph; the input is untouched)
     * @param layers one entry per linear layer the pass changed
     * @param report report lines (the layers' lines, then a summary)
     */
    public record Result(Graph graph, List<LayerReport> layers, List<String> report) {}

    private final Graph source;
    private final Options o;
    private final Consumer<String> progress;
    private final Map<String, double[]> acts;

    private Pruner(Graph source, Options o, Map<String, double[]> acts, Consumer<String> progress) {
        this.source = source;
        this.o = o;
        this.acts = acts == null ? Map.of() : acts;
        this.progress = progress == null ? s -> {} : progress;
    }

    /**
     * Runs a pass.
     *
     * @param source   the graph (not modified)
     * @param options  what to do
     * @param progress receives progress lines (e.g. for stderr), or null
     * @return the pruned graph and the report
     * @throws IllegalArgumentException when the graph has nothing the method can prune, or BSR is forced with
     *                                  non-fp32 values
     */
    public static Result run(Graph source, Options options, Consumer<String> progress) {
        return new Pruner(source, options, null, progress).run();
    }

    /**
     * Runs a pass with activation-based importance for structured pruning: FFN neuron {@code j} scores
     * {@code sqrt(E[h_j²]) · ‖W_down[:, j]‖} and a head the same over its features at the output projection's
     * input, where {@code E[·²]} come from {@link Importance#inputMeanSquares}. Layers without statistics fall
     * back to weight norms; unstructured, block and 2:4 masks stay magnitude-based.
     *
     * @param source      the graph (not modified)
     * @param options     what to do
     * @param activations mean squares of each linear layer's input features by layer name, or null
     * @param progress    receives progress lines, or null
     * @return the pruned graph and the report
     * @throws IllegalArgumentException as {@link #run(Graph, Options, Consumer)}
     */
    public static Result run(Graph source, Options options, Map<String, double[]> activations, Consumer<String> progress) {
        return new Pruner(source, options, activations, progress).run();
    }

    private Result run() {
        Rewriter g = source.rewrite();
        List<LayerReport> layers = switch (o.method()) {
            case GLOBAL, MAGNITUDE, BLOCK, BLOCK_GLOBAL, BLOCK16, BLOCK16_GLOBAL, NM_2_4 -> masked(g);
            case FFN -> ffn(g);
            case HEADS -> heads(g);
        };
        long before = 0, after = 0;
        double removed = 0, total = 0;
        for (LayerReport l : layers) {
            before += l.denseBytes();
            after += l.bytes();
        }
        for (Linear l : source.linears()) {
            total += (double) l.outFeatures() * l.inFeatures();
        }
        for (LayerReport l : layers) {
            Linear orig = (Linear) source.node(l.name());
            removed += l.sparsity() * orig.outFeatures() * orig.inFeatures();
        }
        List<String> report = new ArrayList<>();
        for (LayerReport l : layers) {
            report.add(l.line());
        }
        report.add(String.format(Locale.ROOT, "%s: %d layers changed, %.2f%% of all linear weights pruned, %d -> %d weight bytes (%.3fx)",
                o.method().cliName(), layers.size(), total == 0 ? 0 : 100 * removed / total, before, after,
                before == 0 ? 1.0 : (double) after / before));
        return new Result(g.build(), List.copyOf(layers), List.copyOf(report));
    }

    // ------------------------------------------------------------------ masks (unstructured, block, 2:4)

    private List<LayerReport> masked(Rewriter g) {
        List<Linear> ls = source.linears();
        if (ls.isEmpty()) {
            throw new IllegalArgumentException("graph " + source.name() + " has no linear layer to prune");
        }
        List<float[]> weights = new ArrayList<>();
        // What the masks rank: the weights, or with calibration activations the weights scaled by their input's
        // root mean square, |w_ij|·sqrt(E[x_j²]) (the size of what each weight adds to the layer's output, as in
        // Wanda); the zeros chosen on the scaled copy are then carried over to the weights.
        List<float[]> dense = new ArrayList<>();
        int scaled = 0;
        for (Linear l : ls) {
            float[] w = l.weights().toDense();
            weights.add(w);
            double[] ms = acts.get(l.name());
            if (ms != null && ms.length == l.inFeatures()) {
                dense.add(Masks.scaleColumns(w, l.outFeatures(), l.inFeatures(), ms));
                scaled++;
            } else {
                dense.add(w);
            }
        }
        if (scaled > 0) {
            progress.accept(String.format(Locale.ROOT, "scores: |w|·sqrt(E[x²]) of the calibration inputs in %d of %d layers",
                    scaled, ls.size()));
        }
        if (o.method() == Method.GLOBAL) {
            progress.accept(String.format(Locale.ROOT, "global threshold over %d layers...", ls.size()));
            Masks.global(dense, o.sparsity(), o.floor());
        } else if (o.method() == Method.BLOCK_GLOBAL || o.method() == Method.BLOCK16_GLOBAL) {
            int br = o.method() == Method.BLOCK_GLOBAL ? BsrMatrix.BLOCK_ROWS : Bsr16Matrix.BLOCK_ROWS;
            progress.accept(String.format(Locale.ROOT, "global %dx1 block threshold over %d layers...", br, ls.size()));
            List<float[]> scores = new ArrayList<>();
            for (int i = 0; i < ls.size(); i++) {
                scores.add(Masks.blockScores(dense.get(i), ls.get(i).outFeatures(), ls.get(i).inFeatures(), br));
            }
            boolean[][] masks = Masks.globalMask(scores, o.sparsity(), o.floor());
            for (int i = 0; i < ls.size(); i++) {
                Masks.zeroBlocks(dense.get(i), ls.get(i).outFeatures(), ls.get(i).inFeatures(), masks[i], br);
            }
        }
        if (o.layout() == Layout.PROBE) {
            progress.accept("warming up the kernels for the probe...");
            Layout.warmUp(o.values(), o.probeRows(), o.probeThreads());
        }
        List<LayerReport> out = new ArrayList<>();
        for (int i = 0; i < ls.size(); i++) {
            Linear l = ls.get(i);
            float[] w = dense.get(i);
            int n = l.outFeatures(), k = l.inFeatures();
            switch (o.method()) {
                case MAGNITUDE -> Masks.magnitude(w, o.sparsity());
                case BLOCK -> Masks.block(w, n, k, o.sparsity());
                case BLOCK16 -> Masks.block(w, n, k, o.sparsity(), Bsr16Matrix.BLOCK_ROWS);
                case NM_2_4 -> Masks.nm(w, n, k, 2, 4);
                default -> { }
            }
            if (w != weights.get(i)) {
                float[] orig = weights.get(i);
                for (int j = 0; j < w.length; j++) {
                    w[j] = w[j] == 0f ? 0f : orig[j];
                }
            }
            String pattern = switch (o.method()) {
                case BLOCK, BLOCK_GLOBAL -> Pattern.BLOCK_4X1.label();
                case BLOCK16, BLOCK16_GLOBAL -> Pattern.BLOCK_16X1.label();
                case NM_2_4 -> Pattern.NM_2_4.label();
                default -> Pattern.UNSTRUCTURED.label();
            };
            Layout.Choice c = o.layout().pack(w, n, k, o.values(), l.activation(), o.probeRows(), o.probeThreads());
            g.replace(l, l.withWeights(c.weights()));
            LayerReport r = new LayerReport(l.name(), n, k, w.length == 0 ? 0 : (double) Masks.zeros(w) / w.length, pattern,
                    c.weights().format(), c.weights().byteSize(), l.weights().byteSize(), c.probe());
            progress.accept(r.line());
            out.add(r);
        }
        return out;
    }

    // ------------------------------------------------------------------ structured: FFN neurons

    private List<LayerReport> ffn(Rewriter g) {
        List<Structured.Ffn> pairs = Structured.ffns(source);
        if (pairs.isEmpty()) {
            throw new IllegalArgumentException("graph " + source.name() + " has no feed-forward pair (a linear layer read only by another)");
        }
        List<LayerReport> out = new ArrayList<>();
        for (Structured.Ffn p : pairs) {
            Linear up = p.up(), down = p.down();
            int inner = up.outFeatures(), k = up.inFeatures(), n = down.outFeatures();
            float[] wu = up.weights().toDense(), wd = down.weights().toDense();
            float[] score = new float[inner];
            double[] hsq = acts.get(down.name());
            boolean byActs = hsq != null && hsq.length == inner;
            for (int j = 0; j < inner; j++) {
                double in = byActs ? hsq[j] : Structured.rowSq(wu, k, j);
                score[j] = (float) Math.sqrt(in * Structured.colSq(wd, n, inner, j));
            }
            // Keep at least one neuron: an empty matrix would cut the residual branch's shape.
            boolean[] gone = Masks.lowest(score, Math.min(inner - 1, Math.round(o.sparsity() * inner)));
            boolean[] keep = new boolean[inner];
            for (int j = 0; j < inner; j++) {
                keep[j] = !gone[j];
            }
            float[] nu = Structured.keepRows(wu, k, keep), nd = Structured.keepCols(wd, n, keep);
            int kept = nu.length / Math.max(1, k);
            Linear up2 = new Linear(up.name(), up.inputs().get(0), up.outputs().get(0),
                    Layout.packAs(Layout.DENSE, nu, kept, k, o.values()), Structured.keep(up.bias(), keep), up.activation(),
                    up.int8Mode(), up.staticActivationScale());
            Linear down2 = new Linear(down.name(), down.inputs().get(0), down.outputs().get(0),
                    Layout.packAs(Layout.DENSE, nd, n, kept, o.values()), down.bias(), down.activation(), down.int8Mode(),
                    down.staticActivationScale());
            g.replace(up, up2);
            g.replace(down, down2);
            double frac = 1.0 - (double) kept / inner;
            for (Linear[] pair : new Linear[][] {{up, up2}, {down, down2}}) {
                LayerReport r = new LayerReport(pair[0].name(), pair[1].outFeatures(), pair[1].inFeatures(), frac,
                        Pattern.DENSE.label() + " (" + kept + "/" + inner + " neurons" + (byActs ? ", by activations" : "") + ")", pair[1].weights().format(),
                        pair[1].weights().byteSize(), pair[0].weights().byteSize(), "");
                progress.accept(r.line());
                out.add(r);
            }
        }
        return out;
    }

    // ------------------------------------------------------------------ structured: attention heads

    private List<LayerReport> heads(Rewriter g) {
        List<Structured.Heads> blocks = Structured.heads(source);
        if (blocks.isEmpty()) {
            throw new IllegalArgumentException("graph " + source.name() + " has no attention block with removable heads");
        }
        List<LayerReport> out = new ArrayList<>();
        for (Structured.Heads b : blocks) {
            int h = b.attention().heads(), d = b.headDim(), hd = h * d;
            Linear[] qkv = {b.q(), b.k(), b.v()};
            float[][] w = new float[3][];
            for (int i = 0; i < 3; i++) {
                w[i] = qkv[i].weights().toDense();
            }
            float[] wo = b.out().weights().toDense();
            int kIn = b.q().inFeatures(), nOut = b.out().outFeatures();
            float[] score = new float[h];
            double[] asq = acts.get(b.out().name());
            boolean byActs = asq != null && asq.length == hd;
            for (int hh = 0; hh < h; hh++) {
                double in = 0, outSq = 0, contrib = 0;
                for (int r = hh * d; r < (hh + 1) * d; r++) {
                    for (int i = 0; i < 3; i++) {
                        in += Structured.rowSq(w[i], qkv[i].inFeatures(), r);
                    }
                    double col = Structured.colSq(wo, nOut, hd, r);
                    outSq += col;
                    contrib += byActs ? asq[r] * col : 0;
                }
                score[hh] = (float) Math.sqrt(byActs ? contrib : in * outSq);
            }
            boolean[] gone = Masks.lowest(score, Math.min(h - 1, Math.round(o.sparsity() * h)));
            boolean[] keep = new boolean[hd];
            int keptHeads = 0;
            for (int hh = 0; hh < h; hh++) {
                keptHeads += gone[hh] ? 0 : 1;
                for (int r = hh * d; r < (hh + 1) * d; r++) {
                    keep[r] = !gone[hh];
                }
            }
            int kept = keptHeads * d;
            double frac = 1.0 - (double) keptHeads / h;
            Map<Linear, Linear> repl = new LinkedHashMap<>();
            for (int i = 0; i < 3; i++) {
                Linear l = qkv[i];
                repl.put(l, new Linear(l.name(), l.inputs().get(0), l.outputs().get(0),
                        Layout.packAs(Layout.DENSE, Structured.keepRows(w[i], l.inFeatures(), keep), kept, l.inFeatures(), o.values()),
                        Structured.keep(l.bias(), keep), l.activation(), l.int8Mode(), l.staticActivationScale()));
            }
            Linear ol = b.out();
            repl.put(ol, new Linear(ol.name(), ol.inputs().get(0), ol.outputs().get(0),
                    Layout.packAs(Layout.DENSE, Structured.keepCols(wo, nOut, keep), nOut, kept, o.values()), ol.bias(),
                    ol.activation(), ol.int8Mode(), ol.staticActivationScale()));
            Attention a = b.attention();
            g.replace(a, new Attention(a.name(), a.inputs(), a.outputs().get(0), keptHeads, a.scale()));
            for (Map.Entry<Linear, Linear> e : repl.entrySet()) {
                g.replace(e.getKey(), e.getValue());
                LayerReport r = new LayerReport(e.getKey().name(), e.getValue().outFeatures(), e.getValue().inFeatures(), frac,
                        Pattern.DENSE.label() + " (" + keptHeads + "/" + h + " heads" + (byActs ? ", by activations" : "") + ")", e.getValue().weights().format(),
                        e.getValue().weights().byteSize(), e.getKey().weights().byteSize(), "");
                progress.accept(r.line());
                out.add(r);
            }
        }
        return out;
    }

    /** @return the fraction of zero weights of packed weights (for reports) */
    static double sparsity(PackedWeights w) {
        return Pattern.sparsity(w);
    }
}
