package dev.compresso.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.compresso.distill.BertGraph;
import dev.compresso.distill.train.Encoder;
import dev.compresso.distill.train.Losses;
import dev.compresso.distill.train.TokenBatch;
import dev.compresso.engine.Model;
import dev.compresso.engine.graph.Graph;
import dev.compresso.engine.graph.Linear;
import dev.compresso.engine.text.SentenceEmbedder;
import dev.compresso.engine.weights.Int8Panels;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Quantization-aware training on the real all-MiniLM-L6-v2. */
class QuantAwareTrainingTest {
    static Model model;
    static Graph source;

    @BeforeAll
    static void load() throws Exception {
        QuantizerTest.extract();
        model = Model.load(QuantizerTest.onnx); // its graph's constants live as long as the model is open
        source = model.graph();
    }

    @AfterAll
    static void close() {
        model.close();
    }

    private static List<int[]> ids(List<String> text) {
        List<int[]> out = new ArrayList<>();
        for (String s : text) {
            out.add(QuantizerTest.tok.encode(s).ids());
        }
        return out;
    }

    /**
     * The trainer's fake-quantized forward pass computes what the engine's static int8 graph computes (same
     * weight codes, input scales and embedding codes): far closer to it than either is to fp32.
     */
    @Test
    void fakeQuantizedTrainerMatchesTheEngineStaticInt8() throws Exception {
        Quantizer.Options po = Quantizer.Options.of(Quantizer.Mode.INT8_STATIC).withEstimator(RangeEstimator.MINMAX)
                .withSmoothing(0.8);
        Graph ptq = Quantizer.run(source, po, QuantizerTest.tok, QuantizerTest.CALIB, s -> {}).graph();
        BertGraph bg = BertGraph.of(source);
        int layers = bg.config().layers(), h = bg.config().hidden();
        float[][] scales = new float[layers][];
        float[][][] factors = new float[layers][][];
        Map<String, Float> byName = new HashMap<>();
        Map<String, float[]> factorsByName = new HashMap<>();
        for (int l = 0; l < layers; l++) {
            List<String> names = bg.linearNames(l);
            float[] s = new float[6];
            float[][] f = new float[6][];
            for (int i = 0; i < 6; i++) {
                Linear pl = (Linear) ptq.node(names.get(i));
                s[i] = pl.staticActivationScale();
                f[i] = pl.channelFactors();
                byName.put(names.get(i), s[i]);
                factorsByName.put(names.get(i), f[i]);
                assertTrue(f[i] != null, "SmoothQuant gives every layer input-channel factors");
            }
            assertEquals(s[0], s[1]);
            assertEquals(s[0], s[2], "q, k and v read one input, so they share one scale");
            assertTrue(java.util.Arrays.equals(f[0], f[2]), "and one set of factors");
            scales[l] = new float[] {s[0], s[3], s[4], s[5]};
            factors[l] = new float[][] {f[0], f[3], f[4], f[5]};
        }
        Graph engineInt8 = QuantAwareTraining.staticInt8(source, byName, factorsByName);
        for (String name : byName.keySet()) {
            Linear l = (Linear) engineInt8.node(name);
            assertTrue(l.isStatic() && l.weights() instanceof Int8Panels, l.name());
        }
        List<String> text = QuantizerTest.EVAL;
        Encoder fq = Encoder.of(bg.config(), bg.weights());
        fq.quantize(scales, factors, true);
        Encoder fp = Encoder.of(bg.config(), bg.weights());
        float[] pooledFq = pool(fq, text, h), pooledFp = pool(fp, text, h);
        float[][] engine;
        try (SentenceEmbedder e = new SentenceEmbedder(Model.of(engineInt8), QuantizerTest.tok)) {
            engine = e.embed(text);
        }
        // Same codes, same scales: most sentences match to float rounding. A rounding difference between two
        // accumulation orders can flip one activation code, and a flip early in the network grows layer by layer
        // (static int8 with coarse scales is that sensitive), so a sentence may drift: the mean must still sit
        // far closer to the engine than to fp32.
        double errEngine = 0, errFp32 = 0;
        int exact = 0;
        for (int i = 0; i < text.size(); i++) {
            float[] a = java.util.Arrays.copyOfRange(pooledFq, i * h, (i + 1) * h);
            float[] b = java.util.Arrays.copyOfRange(pooledFp, i * h, (i + 1) * h);
            double toEngine = EmbeddingAgreement.cosine(a, engine[i]);
            errEngine += 1 - toEngine;
            errFp32 += 1 - EmbeddingAgreement.cosine(a, b);
            exact += 1 - toEngine < 1e-6 ? 1 : 0;
        }
        assertTrue(exact >= text.size() / 2, exact + " of " + text.size() + " sentences match the engine to 1e-6");
        assertTrue(errEngine < 0.25 * errFp32, "mean distance to the engine " + errEngine / text.size()
                + " must be far below the distance to fp32 " + errFp32 / text.size());
    }

    private static float[] pool(Encoder enc, List<String> text, int h) {
        TokenBatch b = TokenBatch.of(ids(text));
        Encoder.Pass p = enc.newPass();
        enc.forward(b, p, 0f, 0, 2);
        float[] out = new float[b.count() * h];
        Losses.meanPool(p.output(enc.config().layers()), b.packing(), h, out);
        return out;
    }

    @Test
    void aShortRunReturnsTheBetterStaticGraphAndSaysSo() throws Exception {
        List<String> lines = new ArrayList<>();
        QuantAwareTraining.Options o = QuantAwareTraining.Options.defaults().withSteps(4, 4, 2e-5f)
                .withEstimator(RangeEstimator.MINMAX).withRun(1, 2);
        QuantAwareTraining.Result r = QuantAwareTraining.run(source, QuantizerTest.tok, QuantizerTest.CALIB,
                ids(QuantizerTest.EVAL), o, lines::add);
        assertTrue(r.ptqCosine() > 0.9 && r.ptqCosine() <= 1.0000001, "post-training cosine " + r.ptqCosine());
        assertTrue(r.qatCosine() > 0.9 && r.qatCosine() <= 1.0000001, "QAT cosine " + r.qatCosine());
        assertEquals(r.qatCosine() >= r.ptqCosine(), r.trained());
        for (Linear l : r.graph().linears()) {
            assertTrue(l.isStatic() && l.weights() instanceof Int8Panels, l.name());
            assertTrue(r.scales().get(l.name()) > 0, l.name());
        }
        assertTrue(lines.stream().anyMatch(s -> s.contains("after QAT")), "report names both results");
        assertTrue(lines.stream().anyMatch(s -> s.startsWith("step 4/4")), "training progress is reported");
        try (SentenceEmbedder e = new SentenceEmbedder(Model.of(r.graph()), QuantizerTest.tok)) {
            assertEquals(QuantizerTest.EVAL.size(), e.embed(QuantizerTest.EVAL).length);
        }
    }

    @Test
    void missingDataIsRefused() {
        QuantAwareTraining.Options o = QuantAwareTraining.Options.defaults();
        assertThrows(IllegalArgumentException.class,
                () -> QuantAwareTraining.run(source, QuantizerTest.tok, QuantizerTest.CALIB, List.of(), o, s -> {}));
        assertThrows(IllegalArgumentException.class,
                () -> QuantAwareTraining.run(source, QuantizerTest.tok, List.of(), ids(QuantizerTest.EVAL), o, s -> {}));
        assertThrows(IllegalArgumentException.class, () -> o.withSteps(0, 4, 1e-5f));
    }
}
