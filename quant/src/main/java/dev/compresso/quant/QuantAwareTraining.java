package dev.compresso.quant;

import dev.compresso.distill.BertGraph;
import dev.compresso.distill.DistillOptions;
import dev.compresso.distill.Distiller;
import dev.compresso.distill.train.Encoder;
import dev.compresso.engine.Model;
import dev.compresso.engine.ModelException;
import dev.compresso.engine.graph.Graph;
import dev.compresso.engine.graph.Linear;
import dev.compresso.engine.graph.Node;
import dev.compresso.engine.graph.Rewriter;
import dev.compresso.engine.kernel.Int8Mode;
import dev.compresso.engine.text.SentenceEmbedder;
import dev.compresso.engine.text.WordPieceTokenizer;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Quantization-aware training for static int8 W8A8 ({@code int8-static}) of a BERT-family encoder.
 *
 * <ol>
 *   <li>Post-training static quantization ({@link Quantizer}, mode {@code INT8_STATIC}) gives the starting
 *       activation scales, one per linear input, and the baseline fidelity.</li>
 *   <li>The model is then trained against its own fp32 self as the teacher (pooled-embedding cosine and
 *       per-layer hidden-state MSE) with every linear layer fake-quantized exactly as the engine's static W8A8
 *       kernel computes (weights per output row, inputs with one static scale; straight-through gradients, the
 *       scales learned as in LSQ). See {@code dev.compresso.distill.train.FakeQuant}.</li>
 *   <li>The trained weights are quantized per channel with the learned scales. Of the post-training and the
 *       trained model, the one closer to fp32 on the calibration sentences is returned, and the report says
 *       which and by how much.</li>
 * </ol>
 */
public final class QuantAwareTraining {
    private QuantAwareTraining() {}

    /**
     * Settings.
     *
     * @param steps     optimiser steps (batches)
     * @param batchSize sentences per step
     * @param lr        peak learning rate (AdamW, 5% warm-up, linear decay)
     * @param estimator range estimator of the starting scales, or null to take the best on the calibration set
     * @param smoothAlpha SmoothQuant migration strength of the starting point in [0, 1], or NaN for none; the
     *                  factors become the layers' input-channel factors and stay fixed while training
     * @param seed      data-order seed
     * @param threads   worker threads
     */
    public record Options(int steps, int batchSize, float lr, RangeEstimator estimator, double smoothAlpha, long seed,
            int threads) {
        public Options {
            if (!Double.isNaN(smoothAlpha) && !(smoothAlpha >= 0 && smoothAlpha <= 1)) {
                throw new IllegalArgumentException("SmoothQuant alpha must be in [0, 1], got " + smoothAlpha);
            }
            if (steps < 1 || batchSize < 1 || !(lr > 0) || threads < 1) {
                throw new IllegalArgumentException("QAT needs steps >= 1, batch >= 1, lr > 0 and threads >= 1; got steps "
                        + steps + ", batch " + batchSize + ", lr " + lr + ", threads " + threads);
            }
        }

        /** 300 steps of 32 sentences at lr 2e-5, best estimator, SmoothQuant alpha 0.8, seed 42, every core. */
        public static Options defaults() {
            return new Options(300, 32, 2e-5f, null, 0.8, 42, dev.compresso.engine.kernel.KernelPool.cores());
        }

        public Options withSteps(int s, int batch, float rate) {
            return new Options(s, batch, rate, estimator, smoothAlpha, seed, threads);
        }

        public Options withEstimator(RangeEstimator e) {
            return new Options(steps, batchSize, lr, e, smoothAlpha, seed, threads);
        }

        public Options withSmoothing(double alpha) {
            return new Options(steps, batchSize, lr, estimator, alpha, seed, threads);
        }

        public Options withRun(long s, int t) {
            return new Options(steps, batchSize, lr, estimator, smoothAlpha, s, t);
        }
    }

    /**
     * What came out.
     *
     * @param graph           the static int8 graph returned (the better of the two on the calibration set)
     * @param report          report lines
     * @param ptqCosine       calibration mean cosine to fp32 of post-training static quantization
     * @param qatCosine       calibration mean cosine to fp32 after quantization-aware training
     * @param trained         whether {@link #graph} is the trained one
     * @param scales          the learned activation scales by linear name
     */
    public record Result(Graph graph, List<String> report, double ptqCosine, double qatCosine, boolean trained,
            Map<String, Float> scales) {}

    /**
     * Runs post-training static quantization, then quantization-aware training from it.
     *
     * @param source      the fp32 graph of a BERT-family encoder (not modified)
     * @param tokenizer   its tokenizer
     * @param calibration calibration sentences (ranges, and the fidelity used to pick the result)
     * @param corpus      training sentences as token ids ({@code [CLS] … [SEP]}); unlabelled text is enough
     * @param options     settings
     * @param log         report lines and training progress
     * @return the static int8 graph and the report
     * @throws ModelException when the graph is not a BERT-family encoder or cannot run
     * @throws IOException    never in practice (no checkpoints are written); declared by the trainer
     */
    public static Result run(Graph source, WordPieceTokenizer tokenizer, List<String> calibration, List<int[]> corpus,
            Options options, Consumer<String> log) throws ModelException, IOException {
        if (calibration.isEmpty()) {
            throw new IllegalArgumentException("quantization-aware training needs calibration sentences");
        }
        if (corpus.isEmpty()) {
            throw new IllegalArgumentException("quantization-aware training needs a training corpus");
        }
        for (Linear l : source.linears()) {
            if (SparseValues.isSparse(l.weights())) {
                // Training updates every weight: the removed ones would come back and the layer would be dense.
                throw new IllegalArgumentException("linear " + l.name() + " is pruned (" + l.weights().format()
                        + "): quantization-aware training would refill its removed weights; quantize a pruned model "
                        + "without --qat (its sparse layers keep their format, with int8 values)");
            }
        }
        List<String> report = new ArrayList<>();
        Consumer<String> out = s -> {
            report.add(s);
            log.accept(s);
        };
        BertGraph bg = BertGraph.of(source);
        int layers = bg.config().layers();
        Quantizer.Options po = Quantizer.Options.of(Quantizer.Mode.INT8_STATIC).withEstimator(options.estimator())
                .withSmoothing(options.smoothAlpha());
        Quantizer.Result ptq = Quantizer.run(source, po, tokenizer, calibration, out);
        float[][] start = new float[layers][];
        float[][][] factors = new float[layers][4][];
        int[] slotOf = {0, 3, 4, 5}; // q (k and v share its input), attention output, FFN input, FFN output
        for (int l = 0; l < layers; l++) {
            List<String> names = bg.linearNames(l);
            start[l] = new float[4];
            for (int i = 0; i < 4; i++) {
                Linear ql = staticLinear(ptq.graph(), names.get(slotOf[i]));
                start[l][i] = ql.staticActivationScale();
                factors[l][i] = ql.channelFactors();
            }
        }
        int[] keep = new int[layers];
        for (int l = 0; l < layers; l++) {
            keep[l] = l;
        }
        DistillOptions d = DistillOptions.defaults().withLayers(keep).withSteps(1, options.steps())
                .withBatch(options.batchSize(), DistillOptions.defaults().maxLength())
                .withOptimizer(options.lr(), 0.05f, false, 0f, 1.0f).withLosses(1f, 0f, 1f, 0f).withCrops(false)
                .withRun(options.seed(), options.threads(), 0f);
        long perEpoch = (corpus.size() + options.batchSize() - 1) / options.batchSize();
        if (options.steps() > perEpoch) {
            d = d.withSteps((int) ((options.steps() + perEpoch - 1) / perEpoch), options.steps());
        }
        Encoder[] student = new Encoder[1];
        out.accept(String.format(Locale.ROOT, "qat: %d steps of %d sentences at lr %.2e from %d sentences, %d layers "
                + "fake-quantized (int8 weights per channel, int8 inputs with learned static scales)", options.steps(),
                options.batchSize(), options.lr(), corpus.size(), layers));
        Distiller.Result trained = Distiller.distill(source, null, corpus, d, log, (step, loss) -> {},
                (step, total, s) -> {
                    if (step == 0) {
                        s.quantize(start, factors, true);
                        student[0] = s;
                    }
                });
        float[][] learned = student[0].activationScales();
        // Linears outside the encoder layers (a pooler, a head) keep their post-training scales and factors.
        Map<String, Float> scales = new LinkedHashMap<>();
        Map<String, float[]> channelFactors = new HashMap<>();
        for (Linear l : ptq.graph().linears()) {
            if (l.isStatic()) {
                scales.put(l.name(), l.staticActivationScale());
            }
            if (l.channelFactors() != null) {
                channelFactors.put(l.name(), l.channelFactors());
            }
        }
        for (int l = 0; l < layers; l++) {
            List<String> names = bg.linearNames(l);
            int[] slot = {0, 0, 0, 1, 2, 3};
            for (int i = 0; i < 6; i++) {
                scales.put(names.get(i), learned[l][slot[i]]);
            }
            out.accept(String.format(Locale.ROOT, "qat layer %d activation scales %s -> %s", l, fmt(start[l]),
                    fmt(learned[l])));
        }
        Graph qat = staticInt8(trained.student(), scales, channelFactors);
        float[][] reference = embed(source, tokenizer, calibration);
        double ptqCos = EmbeddingAgreement.of(reference, embed(ptq.graph(), tokenizer, calibration)).cosineMean();
        double qatCos = EmbeddingAgreement.of(reference, embed(qat, tokenizer, calibration)).cosineMean();
        boolean useQat = qatCos >= ptqCos;
        out.accept(String.format(Locale.ROOT, "calibration set (%d sentences): mean cosine to fp32, post-training %.6f, "
                + "after QAT %.6f -> %s", calibration.size(), ptqCos, qatCos, useQat ? "QAT model" : "post-training model"));
        return new Result(useQat ? qat : ptq.graph(), List.copyOf(report), ptqCos, qatCos, useQat, Map.copyOf(scales));
    }

    private static String fmt(float[] s) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < s.length; i++) {
            b.append(i == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.4g", s[i]));
        }
        return b.append(']').toString();
    }

    private static Linear staticLinear(Graph g, String linear) throws ModelException {
        Node n = g.node(linear);
        if (!(n instanceof Linear l) || !l.isStatic()) {
            throw new ModelException("linear " + linear + ": no static activation scale after calibration (its input "
                    + "was all zero on the calibration set); quantization-aware training needs one per layer");
        }
        return l;
    }

    /**
     * Static int8: every linear's weights per channel (with its input-channel factors from {@code factors}
     * migrated into the weights first, {@code W·diag(f)}), its activation scale from {@code scales} (a linear
     * without one stays dynamic), embedding tables int8 per row, as {@link Quantizer}'s {@code int8-static} does.
     */
    static Graph staticInt8(Graph source, Map<String, Float> scales, Map<String, float[]> factors) {
        Rewriter g = source.rewrite();
        for (Linear l : source.linears()) {
            float[] w = l.weights().toDense();
            float[] f = factors.get(l.name());
            if (f != null) {
                SmoothQuant.scaleWeightColumns(w, l.outFeatures(), l.inFeatures(), f);
            }
            Int8Weights q = Int8Weights.quantize(l.name(), w, l.outFeatures(), l.inFeatures(), Granularity.PER_CHANNEL);
            Linear ql = f != null ? l.withChannelFactors(q.pack(), f) : l.withWeights(q.pack());
            Float s = scales.get(l.name());
            g.replace(l, s != null ? ql.withStaticActivationScale(s) : ql.withInt8Mode(Int8Mode.AUTO));
        }
        Map<String, Object[]> cache = new HashMap<>();
        for (Node n : Embeddings.gathers(source)) {
            Embeddings.int8(g, n, cache);
        }
        return g.build();
    }

    private static float[][] embed(Graph g, WordPieceTokenizer tok, List<String> sentences) throws ModelException {
        try (SentenceEmbedder e = new SentenceEmbedder(Model.of(g), tok)) {
            return e.embed(sentences);
        }
    }
}
