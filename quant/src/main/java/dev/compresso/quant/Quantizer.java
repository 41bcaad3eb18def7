package dev.compresso.quant;

import dev.compresso.engine.Model;
import dev.compresso.engine.ModelException;
import dev.compresso.engine.SessionOptions;
import dev.compresso.engine.Tensor;
import dev.compresso.engine.graph.Graph;
import dev.compresso.engine.graph.GraphIndex;
import dev.compresso.engine.graph.LayerNorm;
import dev.compresso.engine.graph.Linear;
import dev.compresso.engine.graph.Node;
import dev.compresso.engine.graph.Rewriter;
import dev.compresso.engine.kernel.Int8Mode;
import dev.compresso.engine.text.SentenceEmbedder;
import dev.compresso.engine.text.WordPieceTokenizer;
import dev.compresso.engine.weights.CsrMatrix;
import dev.compresso.engine.weights.PackedWeights;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Quantization passes over the engine graph. Every decision is written into the graph itself — the packed
 * format of each {@link Linear}, its int8 activation mode and static scale, the compressed embedding lookups —
 * so {@code inspect} shows it and the model file stores it; a per-layer report goes to the caller.
 */
public final class Quantizer {

    /** What to do. */
    public enum Mode {
        /** All weights (linear layers and embedding tables) to fp16. */
        FP16,
        /** int8 weights (per channel by default); activations quantized at run time (W8A8) or kept fp32 (W8A32). */
        INT8,
        /** int8 weights and static int8 activation scales from calibration sentences. */
        INT8_STATIC,
        /** int8, keeping the most sensitive layers in fp32 until a mean-cosine target holds on the calibration set. */
        AUTO;

        /**
         * @param s {@code fp16}, {@code int8}, {@code int8-static} or {@code auto}
         * @return the mode
         * @throws IllegalArgumentException for anything else
         */
        public static Mode parse(String s) {
            return switch (s) {
                case "fp16" -> FP16;
                case "int8" -> INT8;
                case "int8-static" -> INT8_STATIC;
                case "auto" -> AUTO;
                default -> throw new IllegalArgumentException("unknown mode '" + s + "': use fp16, int8, int8-static or auto");
            };
        }
    }

    /**
     * Options.
     *
     * @param mode         the pass
     * @param granularity  int8 weight scales per channel (default) or per tensor
     * @param smoothAlpha  SmoothQuant migration strength in [0, 1], or NaN for none (int8 modes; needs calibration)
     * @param estimator    activation range estimator for {@code int8-static}, or null to try all and keep the best
     * @param targetCosine mean-cosine target of {@code auto}
     * @param budgetMillis time budget of the {@code auto} search
     * @param int8Mode     activation mode of dynamic int8 layers ({@link Int8Mode#AUTO}: the kernel's choice)
     */
    public record Options(Mode mode, Granularity granularity, double smoothAlpha, RangeEstimator estimator,
            double targetCosine, long budgetMillis, Int8Mode int8Mode) {

        /** Defaults for a mode: per channel, no SmoothQuant, best estimator, target 0.995, 120 s, kernel's int8 mode. */
        public static Options of(Mode mode) {
            return new Options(mode, Granularity.PER_CHANNEL, Double.NaN, null, 0.995, 120_000, Int8Mode.AUTO);
        }

        /** @return a copy with other int8 weight scales */
        public Options withGranularity(Granularity g) {
            return new Options(mode, g, smoothAlpha, estimator, targetCosine, budgetMillis, int8Mode);
        }

        /** @return a copy with SmoothQuant at migration strength {@code alpha} (NaN: none) */
        public Options withSmoothing(double alpha) {
            return new Options(mode, granularity, alpha, estimator, targetCosine, budgetMillis, int8Mode);
        }

        /** @return a copy with one range estimator for {@code int8-static} */
        public Options withEstimator(RangeEstimator e) {
            return new Options(mode, granularity, smoothAlpha, e, targetCosine, budgetMillis, int8Mode);
        }

        /** @return a copy with another mean-cosine target and time budget for {@code auto} */
        public Options withTarget(double cosine, long millis) {
            return new Options(mode, granularity, smoothAlpha, estimator, cosine, millis, int8Mode);
        }

        /** @return a copy with another activation mode for dynamic int8 layers */
        public Options withInt8Mode(Int8Mode m) {
            return new Options(mode, granularity, smoothAlpha, estimator, targetCosine, budgetMillis, m);
        }
    }

    /**
     * The outcome.
     *
     * @param graph  the quantized graph (a copy; the input graph is untouched)
     * @param report the per-layer report lines
     * @param calibrationCosine mean cosine to the input model on the calibration sentences, or NaN if none were given
     */
    public record Result(Graph graph, List<String> report, double calibrationCosine) {}

    private final Graph source;
    private final Options options;
    private final WordPieceTokenizer tokenizer;
    private final List<String> calibration;
    private final Consumer<String> out;
    private final List<String> report = new ArrayList<>();
    private float[][] reference;

    private Quantizer(Graph source, Options options, WordPieceTokenizer tokenizer, List<String> calibration, Consumer<String> out) {
        this.source = source;
        this.options = options;
        this.tokenizer = tokenizer;
        this.calibration = calibration == null ? List.of() : calibration;
        this.out = out;
    }

    /**
     * Runs a pass.
     *
     * @param source      the fp32 graph (not modified)
     * @param options     what to do
     * @param tokenizer   the model's tokenizer (needed with calibration sentences), or null
     * @param calibration calibration sentences (required for {@code int8-static}, {@code auto} and SmoothQuant)
     * @param out         receives report lines as they are produced
     * @return the quantized graph and the report
     * @throws ModelException           if running the model on the calibration set fails
     * @throws QuantizationException    on non-finite weights or activations (naming the tensor or layer)
     * @throws IllegalArgumentException if a mode needs calibration sentences and none were given
     */
    public static Result run(Graph source, Options options, WordPieceTokenizer tokenizer, List<String> calibration,
            Consumer<String> out) throws ModelException {
        return new Quantizer(source, options, tokenizer, calibration, out == null ? s -> {} : out).run();
    }

    /**
     * Runs a pass that needs no calibration ({@code fp16}, or {@code int8} without SmoothQuant).
     *
     * @param source  the fp32 graph (not modified)
     * @param options what to do
     * @return the quantized graph and the report
     * @throws ModelException           never for these modes in practice (no model is run)
     * @throws QuantizationException    on non-finite weights (naming the tensor or layer)
     * @throws IllegalArgumentException if the mode needs calibration sentences
     */
    public static Result run(Graph source, Options options) throws ModelException {
        return run(source, options, null, List.of(), null);
    }

    /**
     * Runs a pass with calibration sentences, the report going only into the result.
     *
     * @param source      the fp32 graph (not modified)
     * @param options     what to do
     * @param tokenizer   the model's tokenizer
     * @param calibration calibration sentences
     * @return the quantized graph and the report
     * @throws ModelException           if running the model on the calibration set fails
     * @throws QuantizationException    on non-finite weights or activations
     * @throws IllegalArgumentException if a mode needs calibration sentences and none were given
     */
    public static Result run(Graph source, Options options, WordPieceTokenizer tokenizer, List<String> calibration)
            throws ModelException {
        return run(source, options, tokenizer, calibration, null);
    }

    private void log(String s) {
        report.add(s);
        out.accept(s);
    }

    private boolean needsCalibration() {
        return options.mode() == Mode.INT8_STATIC || options.mode() == Mode.AUTO || !Double.isNaN(options.smoothAlpha());
    }

    private Result run() throws ModelException {
        if (needsCalibration() && (calibration.isEmpty() || tokenizer == null)) {
            throw new IllegalArgumentException("mode " + options.mode().name().toLowerCase(Locale.ROOT).replace('_', '-')
                    + (Double.isNaN(options.smoothAlpha()) ? "" : " with SmoothQuant")
                    + " needs calibration sentences (--calib FILE, one per line)");
        }
        Graph g;
        switch (options.mode()) {
            case FP16 -> g = fp16();
            case INT8 -> g = int8Dynamic(smoothed(), Set.of(), true);
            case INT8_STATIC -> g = int8Static();
            case AUTO -> g = auto();
            default -> throw new IllegalStateException();
        }
        double cos = Double.NaN;
        if (!calibration.isEmpty() && tokenizer != null) {
            cos = meanCosine(g);
            log(String.format(Locale.ROOT, "calibration set (%d sentences): mean cosine to fp32 %.6f", calibration.size(), cos));
        }
        return new Result(g, List.copyOf(report), cos);
    }

    // ------------------------------------------------------------------ fp16

    private Graph fp16() {
        Rewriter g = source.rewrite();
        for (Linear l : source.linears()) {
            float[] w = l.weights().toDense();
            PackedWeights to;
            if (SparseValues.isSparse(l.weights())) {
                to = SparseValues.repack(l.weights(), w, CsrMatrix.ValueType.FP16);
                if (to == null) {
                    log(String.format(Locale.ROOT, "%-48s linear %5d x %-5d kept %s (the 4x1 block format stores fp32 only)",
                            l.name(), l.outFeatures(), l.inFeatures(), l.weights().format()));
                    continue;
                }
            } else {
                to = Fp16Weights.pack(l.name(), w, l.outFeatures(), l.inFeatures());
            }
            g.replace(l, l.withWeights(to));
            log(String.format(Locale.ROOT, "%-48s linear %5d x %-5d %s -> %s", l.name(), l.outFeatures(), l.inFeatures(),
                    l.weights().format(), to.format()));
        }
        for (Node n : Embeddings.gathers(source)) {
            log(Embeddings.fp16(g, n));
        }
        return g.build();
    }

    // ------------------------------------------------------------------ int8 (dynamic)

    /** int8 weights for every linear except {@code keep}; embeddings int8 when {@code embeddings}. */
    private Graph int8Dynamic(Graph base, Set<String> keep, boolean verbose) {
        Rewriter g = base.rewrite();
        for (Linear l : base.linears()) {
            if (keep.contains(l.name())) {
                if (verbose) {
                    log(String.format(Locale.ROOT, "%-48s linear %5d x %-5d kept %s", l.name(), l.outFeatures(), l.inFeatures(),
                            l.weights().format()));
                }
                continue;
            }
            Linear q = quantizeLinear(l).withInt8Mode(options.int8Mode());
            g.replace(l, q);
            if (verbose) {
                log(describe(l, q));
            }
        }
        for (Node n : Embeddings.gathers(base)) {
            if (keep.contains(n.name())) {
                if (verbose) {
                    log(String.format(Locale.ROOT, "%-48s embedding kept fp32", n.name()));
                }
                continue;
            }
            String line = Embeddings.int8(g, n, embeddingCache);
            if (verbose) {
                log(line);
            }
        }
        return g.build();
    }

    private final Map<String, Linear> int8Cache = new LinkedHashMap<>();
    /** Quantized embedding tables by table name: the auto search rebuilds graphs many times. */
    private final Map<String, Object[]> embeddingCache = new java.util.HashMap<>();

    /** int8 weights of a linear (cached: the auto search and the estimator trials reuse them). */
    private Linear quantizeLinear(Linear l) {
        Linear cached = int8Cache.get(l.name());
        // Per Quantizer and per (possibly smoothed) base graph, a layer name always means the same weights.
        if (cached != null) {
            return l.withWeights(cached.weights());
        }
        PackedWeights w = l.weights();
        PackedWeights packed;
        if (SparseValues.isSparse(w)) {
            // A pruned layer stays in its sparse format; only its stored values become int8 (per output channel).
            float[] dense = w.toDense();
            Checks.finite(l.name(), dense, l.inFeatures());
            PackedWeights sp = SparseValues.repack(w, dense, CsrMatrix.ValueType.INT8);
            packed = sp == null ? w : sp;
        } else {
            packed = Int8Weights.quantize(l.name(), w.toDense(), l.outFeatures(), l.inFeatures(), options.granularity()).pack();
        }
        Linear r = l.withWeights(packed);
        int8Cache.put(l.name(), r);
        return r;
    }

    private String describe(Linear before, Linear after) {
        if (SparseValues.isSparse(after.weights())) {
            boolean kept = after.weights() == before.weights();
            float[] w = before.weights().toDense(), back = after.weights().toDense();
            return String.format(Locale.ROOT, "%-48s linear %5d x %-5d %s -> %s  sparsity %.3f  %s", before.name(),
                    before.outFeatures(), before.inFeatures(), before.weights().format(), after.weights().format(),
                    SparseValues.sparsity(w), kept ? "kept (the 4x1 block format stores fp32 only)"
                            : String.format(Locale.ROOT, "per-channel  max|err|/max|w| %.4f  act fp32 (sparse kernel)",
                                    Embeddings.maxErr(w, back) / Math.max(1e-30f, Int8Weights.maxAbs(w, 0, w.length))));
        }
        float[] w = before.weights().toDense(), back = after.weights().toDense();
        float max = Int8Weights.maxAbs(w, 0, w.length);
        String mode = after.isStatic() ? String.format(Locale.ROOT, "static act scale %.4g", after.staticActivationScale())
                : "act " + after.int8Mode().name();
        return String.format(Locale.ROOT, "%-48s linear %5d x %-5d %s -> int8 %s  max|err|/max|w| %.4f  %s", before.name(),
                before.outFeatures(), before.inFeatures(), before.weights().format(),
                options.granularity() == Granularity.PER_CHANNEL ? "per-channel" : "per-tensor",
                Embeddings.maxErr(w, back) / Math.max(1e-30f, max), mode);
    }

    // ------------------------------------------------------------------ SmoothQuant

    /** The source graph with SmoothQuant applied (a copy), or the source itself when SmoothQuant is off. */
    private Graph smoothed() throws ModelException {
        if (Double.isNaN(options.smoothAlpha())) {
            return source;
        }
        Map<String, ActivationStats> stats = calibrate(source);
        Rewriter g = source.rewrite();
        GraphIndex index = GraphIndex.of(source);
        // Group the linears by the tensor they read: q, k, v share one input and must share the factors.
        Map<String, List<Linear>> byInput = new LinkedHashMap<>();
        for (Linear l : source.linears()) {
            byInput.computeIfAbsent(l.inputs().get(0), k -> new ArrayList<>()).add(l);
        }
        for (Map.Entry<String, List<Linear>> e : byInput.entrySet()) {
            List<Linear> group = e.getValue();
            ActivationStats st = stats.get(group.get(0).name());
            if (st == null || st.rows() == 0) {
                continue;
            }
            int k = group.get(0).inFeatures();
            float[] wMax = new float[k];
            List<float[]> dense = new ArrayList<>();
            for (Linear l : group) {
                float[] w = l.weights().toDense();
                dense.add(w);
                float[] m = SmoothQuant.weightColumnMax(w, l.outFeatures(), k);
                for (int j = 0; j < k; j++) {
                    wMax[j] = Math.max(wMax[j], m[j]);
                }
            }
            float[] s = SmoothQuant.factors(e.getKey(), st.channelMax(), wMax, options.smoothAlpha());
            List<Linear> scaled = new ArrayList<>();
            for (int i = 0; i < group.size(); i++) {
                Linear l = group.get(i);
                float[] w = dense.get(i);
                SmoothQuant.scaleWeightColumns(w, l.outFeatures(), k, s);
                PackedWeights sp = SparseValues.repack(l.weights(), w, CsrMatrix.ValueType.FP32); // pruned: same layout
                scaled.add(l.withWeights(sp != null ? sp : dev.compresso.engine.weights.Fp32Panels.pack(w, l.outFeatures(), k)));
            }
            Node producer = index.producer(e.getKey());
            boolean foldable = producer instanceof LayerNorm && index.reads(e.getKey()) == group.size();
            if (foldable) {
                LayerNorm ln = (LayerNorm) producer;
                float[] gamma = ln.gamma(), beta = ln.beta();
                SmoothQuant.foldIntoLayerNorm(gamma, beta, s);
                g.replace(ln, ln.withGammaBeta(gamma, beta));
                for (Linear l : scaled) {
                    g.replace(l, l); // by name
                }
            } else {
                // The layers divide their input by the factors themselves (inside the int8 kernel when static).
                for (Linear l : scaled) {
                    g.replace(l, l.withChannelFactors(l.weights(), s));
                }
            }
            float sMin = Float.MAX_VALUE, sMax = 0;
            for (float f : s) {
                sMin = Math.min(sMin, f);
                sMax = Math.max(sMax, f);
            }
            log(String.format(Locale.ROOT, "smoothquant alpha %.2f on %-34s (%d layer(s)) factors [%.3g, %.3g] %s", options.smoothAlpha(),
                    e.getKey(), group.size(), sMin, sMax, foldable ? "folded into " + producer.name() : "as channel factors of the layers"));
        }
        return g.build();
    }

    // ------------------------------------------------------------------ int8 static

    private Graph int8Static() throws ModelException {
        Graph base = smoothed();
        Map<String, ActivationStats> stats = calibrate(base);
        List<RangeEstimator> trials = options.estimator() == null ? List.of(RangeEstimator.values()) : List.of(options.estimator());
        Graph best = null;
        double bestCos = -2;
        RangeEstimator bestE = null;
        for (RangeEstimator e : trials) {
            Graph g = staticGraph(base, stats, e, false);
            double cos = meanCosine(g);
            log(String.format(Locale.ROOT, "estimator %-10s mean cosine to fp32 on the calibration set %.6f", e.cliName(), cos));
            if (cos > bestCos) {
                bestCos = cos;
                best = g;
                bestE = e;
            }
        }
        if (trials.size() > 1) {
            log("estimator " + bestE.cliName() + " wins on fidelity");
        }
        // Re-run the winner verbosely so the report lists its per-layer scales.
        return staticGraph(base, stats, bestE, true);
    }

    private Graph staticGraph(Graph base, Map<String, ActivationStats> stats, RangeEstimator e, boolean verbose) {
        Rewriter g = base.rewrite();
        for (Linear l : base.linears()) {
            Linear q = quantizeLinear(l);
            ActivationStats st = stats.get(l.name());
            float scale = st == null || st.rows() == 0 ? 0f : st.scale(e);
            if (SparseValues.isSparse(q.weights())) {
                q = q.withInt8Mode(options.int8Mode()); // sparse kernels multiply fp32 activations: weight-only int8
            } else if (scale > 0 && Float.isFinite(scale)) {
                q = q.withStaticActivationScale(scale);
            } else {
                q = q.withInt8Mode(options.int8Mode()); // never saw a non-zero input: stay dynamic
            }
            g.replace(l, q);
            if (verbose) {
                log(describe(l, q) + (st == null ? "" : String.format(Locale.ROOT, "  |x|max %.4g", st.histogram().max())));
            }
        }
        for (Node n : Embeddings.gathers(base)) {
            String line = Embeddings.int8(g, n, embeddingCache);
            if (verbose) {
                log(line);
            }
        }
        return g.build();
    }

    // ------------------------------------------------------------------ auto

    private Graph auto() throws ModelException {
        Graph base = smoothed();
        List<String> candidates = new ArrayList<>();
        for (Linear l : base.linears()) {
            candidates.add(l.name());
        }
        for (Node n : Embeddings.gathers(base)) {
            candidates.add(n.name());
        }
        AutoPlanner.Plan plan;
        try {
            plan = AutoPlanner.search(candidates, wide -> meanCosine(int8Dynamic(base, wide, false)), options.targetCosine(),
                    options.budgetMillis(), this::log);
        } catch (ModelException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        Set<String> wide = new LinkedHashSet<>(plan.wide());
        for (String c : candidates) {
            Double sv = plan.sensitivity().get(c);
            log(String.format(Locale.ROOT, "decision %-48s sensitivity %s -> %s", c,
                    sv == null || sv.isNaN() ? "not needed" : String.format(Locale.ROOT, "%.6f", sv),
                    wide.contains(c) ? "keep fp32" : "int8"));
        }
        log(String.format(Locale.ROOT, "auto: %d of %d kept fp32, mean cosine %.6f (target %.4f%s)%s", wide.size(),
                candidates.size(), plan.meanCosine(), options.targetCosine(), plan.targetMet() ? ", met" : ", NOT met",
                plan.timedOut() ? "; time budget reached" : ""));
        return int8Dynamic(base, wide, true);
    }

    // ------------------------------------------------------------------ calibration helpers

    private Map<String, ActivationStats> calibrate(Graph g) throws ModelException {
        Calibrator c = new Calibrator();
        try (SentenceEmbedder e = new SentenceEmbedder(Model.of(g), tokenizer, new SessionOptions().observer(c),
                SentenceEmbedder.DEFAULT_BATCH_SIZE)) {
            e.embed(calibration);
        }
        return c.stats();
    }

    float[][] embed(Graph g) throws ModelException {
        try (SentenceEmbedder e = new SentenceEmbedder(Model.of(g), tokenizer)) {
            return e.embed(calibration);
        }
    }

    private double meanCosine(Graph g) throws ModelException {
        if (reference == null) {
            reference = embed(source);
        }
        return EmbeddingAgreement.of(reference, embed(g)).cosineMean();
    }
}
