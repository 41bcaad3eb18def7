package dev.compresso.prune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.compresso.distill.DistillOptions;
import dev.compresso.engine.Model;
import dev.compresso.engine.graph.Graph;
import dev.compresso.engine.graph.Linear;
import dev.compresso.engine.text.WordPieceTokenizer;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Gradual pruning through the distill trainer on the real all-MiniLM-L6-v2. */
class GradualPrunerTest {

    @Test
    void cubicScheduleRisesToTheTargetOnTheRampAndStays() {
        GradualPruner.Schedule s = new GradualPruner.Schedule(0.5, 4);
        assertEquals(0.0, s.at(0, 100, 0.8), 1e-12);
        assertEquals(0.8, s.at(50, 100, 0.8), 1e-12);
        assertEquals(0.8, s.at(99, 100, 0.8), 1e-12);
        double prev = -1;
        for (int t = 0; t <= 100; t++) {
            double v = s.at(t, 100, 0.8);
            assertTrue(v >= prev, "non-decreasing");
            prev = v;
        }
        // cubic: the first increment is the largest
        assertTrue(s.at(12, 100, 0.8) - s.at(0, 100, 0.8) > s.at(50, 100, 0.8) - s.at(37, 100, 0.8));
        assertThrows(IllegalArgumentException.class, () -> new GradualPruner.Schedule(0, 4));
    }

    @Test
    void finetunedModelEndsAtTheExactSparsityWithPrunedWeightsHeldAtZero() throws Exception {
        List<String> progress = new ArrayList<>();
        try (Model m = Model.load(onnx)) {
            Pruner.Options o = Pruner.Options.of(Pruner.Method.MAGNITUDE, 0.5).withLayout(Layout.DENSE);
            DistillOptions train = DistillOptions.defaults().withSteps(3, 6).withBatch(3, 64).withRun(1, 2, 0f);
            Pruner.Result r = GradualPruner.run(m.graph(), ids, o, train, new GradualPruner.Schedule(0.5, 3),
                    progress::add);
            Graph g = r.graph();
            for (Linear l : g.linears()) {
                float[] w = l.weights().toDense();
                long zeros = 0;
                for (float x : w) {
                    zeros += x == 0f ? 1 : 0;
                }
                assertEquals(Math.round(0.5 * w.length), zeros, l.name());
            }
            assertTrue(progress.stream().anyMatch(p -> p.contains("sparsity 0.500")), String.join("\n", progress));
            assertTrue(progress.stream().filter(p -> p.startsWith("gradual pruning: step")).count() >= 2,
                    "increments: " + progress);
            // fine-tuning changed the kept weights: the result is not the one-shot pass of the original
            Graph oneShot = Pruner.run(m.graph(), o, null).graph();
            assertTrue(!java.util.Arrays.equals(oneShot.linears().get(0).weights().toDense(),
                    g.linears().get(0).weights().toDense()));
            assertThrows(IllegalArgumentException.class, () -> GradualPruner.run(m.graph(), ids,
                    Pruner.Options.of(Pruner.Method.HEADS, 0.5), train, new GradualPruner.Schedule(0.5, 3), s -> {}));
        }
    }

    /** Global 16x1 blocks with fine-tuning: whole blocks only, half of all blocks across the layers, held at zero. */
    @Test
    void globalBlock16PruningIsFineTunedInWholeBlocks() throws Exception {
        try (Model m = Model.load(onnx)) {
            Pruner.Options o = Pruner.Options.of(Pruner.Method.BLOCK16_GLOBAL, 0.5).withLayout(Layout.BSR16);
            DistillOptions train = DistillOptions.defaults().withSteps(3, 4).withBatch(3, 64).withRun(1, 2, 0f);
            Graph g = GradualPruner.run(m.graph(), ids, o, train, new GradualPruner.Schedule(0.5, 2), s -> {}).graph();
            long blocks = 0, zero = 0;
            java.util.Set<Double> shares = new java.util.HashSet<>();
            for (Linear l : g.linears()) {
                assertEquals(Pattern.BLOCK_16X1, Pattern.of(l.weights()), l.name());
                int n = l.outFeatures(), k = l.inFeatures();
                float[] w = l.weights().toDense();
                float[] score = Masks.blockScores(w, n, k, 16);
                long z = 0;
                for (int b = 0; b < score.length; b++) {
                    z += score[b] == 0f ? 1 : 0;
                }
                blocks += score.length;
                zero += z;
                shares.add(Math.rint(100.0 * z / score.length));
                assertEquals(z * 16, Masks.zeros(w), l.name() + ": every zero lies in a zeroed 16x1 block");
                assertTrue(score.length - z >= Math.ceil(0.02 * score.length), l.name() + " keeps the 2% floor");
            }
            // Half of all blocks, less those the floor gave back to layers the threshold would have emptied.
            assertTrue(zero <= Math.round(0.5 * blocks) && zero > 0.49 * blocks, zero + " of " + blocks + " " + shares);
            assertTrue(shares.size() > 1, "one threshold across layers gives them different sparsities: " + shares);
        }
    }

    static final List<String> TEXT = List.of("The cat sat on the mat.", "Compilers translate code.", "Rain fell all day.",
            "A package manager installs software.", "She read the letter twice.", "Bees collect nectar.");

    /** Mean-pooled last hidden state of every sentence, one engine run each. */
    private static float[][] embed(Graph g) throws Exception {
        Model m = Model.of(g);
        float[][] out = new float[TEXT.size()][];
        try (dev.compresso.engine.Session s = m.newSession()) {
            for (int i = 0; i < TEXT.size(); i++) {
                int[] e = tok.encode(TEXT.get(i)).ids();
                long[] ids = new long[e.length], mask = new long[e.length];
                for (int t = 0; t < e.length; t++) {
                    ids[t] = e[t];
                    mask[t] = 1;
                }
                java.util.Map<String, dev.compresso.engine.Tensor> in = new java.util.HashMap<>();
                long[] shape = {1, e.length};
                in.put("input_ids", dev.compresso.engine.Tensor.ofLongs(shape, ids));
                in.put("attention_mask", dev.compresso.engine.Tensor.ofLongs(shape, mask));
                in.put("token_type_ids", dev.compresso.engine.Tensor.ofLongs(shape, new long[e.length]));
                float[] h = s.run(in).get(m.outputNames().get(0)).toFloatArray();
                int width = h.length / e.length;
                float[] p = new float[width];
                for (int t = 0; t < e.length; t++) {
                    for (int c = 0; c < width; c++) {
                        p[c] += h[t * width + c] / e.length;
                    }
                }
                out[i] = p;
            }
        }
        return out;
    }

    private static double meanCosine(float[][] a, float[][] b) {
        double sum = 0;
        for (int i = 0; i < a.length; i++) {
            double d = 0, na = 0, nb = 0;
            for (int c = 0; c < a[i].length; c++) {
                d += (double) a[i][c] * b[i][c];
                na += (double) a[i][c] * a[i][c];
                nb += (double) b[i][c] * b[i][c];
            }
            sum += d / Math.sqrt(na * nb);
        }
        return sum / a.length;
    }

    /** The real model and tokenizer, copied out of the test class path once, and the sentences' token ids. */
    private static Path onnx;
    private static WordPieceTokenizer tok;
    private static List<int[]> ids;

    @org.junit.jupiter.api.BeforeAll
    static void copyModel() throws Exception {
        Path d = Files.createTempDirectory("structured-finetune-test");
        onnx = d.resolve("m.onnx");
        Path tj = d.resolve("tokenizer.json");
        try (InputStream in = GradualPrunerTest.class.getClassLoader().getResourceAsStream("all-minilm-l6-v2.onnx");
                InputStream ti = GradualPrunerTest.class.getClassLoader().getResourceAsStream("all-minilm-l6-v2-tokenizer.json")) {
            Files.copy(in, onnx, StandardCopyOption.REPLACE_EXISTING);
            Files.copy(ti, tj, StandardCopyOption.REPLACE_EXISTING);
        }
        tok = WordPieceTokenizer.fromJson(tj);
        ids = new ArrayList<>();
        for (String s : TEXT) {
            ids.add(tok.encode(s).ids());
        }
    }

    @Test
    void structuredFfnPruningIsFineTunedIntoANarrowerModelCloserToTheOriginal() throws Exception {
        try (Model m = Model.load(onnx)) {
            Pruner.Options o = Pruner.Options.of(Pruner.Method.FFN, 0.5).withLayout(Layout.DENSE);
            DistillOptions train = DistillOptions.defaults().withSteps(4, 8).withBatch(3, 64)
                    .withOptimizer(1e-3f, 0f, false, 0.01f, 1f).withCrops(false).withRun(1, 2, 0f);
            List<String> progress = new ArrayList<>();
            Pruner.Result r = GradualPruner.run(m.graph(), ids, o, null, train, new GradualPruner.Schedule(0.75, 10),
                    progress::add);
            Graph cut = Pruner.run(m.graph(), o, null).graph();
            int ffns = 0;
            for (Structured.Ffn p : Structured.ffns(r.graph())) {
                assertEquals(768, p.up().outFeatures(), p.up().name());
                assertEquals(768, p.down().inFeatures(), p.down().name());
                ffns++;
            }
            assertEquals(6, ffns);
            float[][] ref = embed(m.graph());
            double before = meanCosine(embed(cut), ref), after = meanCosine(embed(r.graph()), ref);
            assertTrue(after > before, "fine-tuning moved the narrow model toward the original: " + before + " -> " + after);
            assertTrue(r.report().stream().anyMatch(l -> l.startsWith("fine-tuned 8 steps")), String.join("\n", r.report()));
        }
    }

    @Test
    void aThreeLayerStudentWithANarrowerFeedForwardTrainsAndRuns() throws Exception {
        try (Model m = Model.load(onnx)) {
            int[] keep = {0, 2, 4};
            dev.compresso.distill.BertGraph bg = dev.compresso.distill.BertGraph.of(m.graph());
            Graph kept = bg.student(keep, bg.weights().select(keep));
            // 1536 -> 1001 neurons: an odd width on purpose
            Graph init = Pruner.run(kept, Pruner.Options.of(Pruner.Method.FFN, 535.0 / 1536).withLayout(Layout.DENSE), null)
                    .graph();
            assertEquals(1001, dev.compresso.distill.BertGraph.of(init).config().ffn());
            DistillOptions o = DistillOptions.defaults().withLayers(keep).withSteps(4, 8).withBatch(3, 64)
                    .withOptimizer(1e-3f, 0f, false, 0.01f, 1f).withCrops(false).withRun(1, 2, 0f);
            List<Double> losses = new ArrayList<>();
            dev.compresso.distill.Distiller.Result r = dev.compresso.distill.Distiller.distill(m.graph(), init, ids, o,
                    s -> {}, (step, loss) -> losses.add(loss), (s, t, e) -> {});
            assertEquals(8, losses.size());
            dev.compresso.distill.BertGraph sg = dev.compresso.distill.BertGraph.of(r.student());
            assertEquals(3, sg.config().layers());
            assertEquals(1001, sg.config().ffn());
            float[][] ref = embed(m.graph());
            double before = meanCosine(embed(init), ref), after = meanCosine(embed(r.student()), ref);
            assertTrue(after > before, "the narrow student learned: " + before + " -> " + after);
            // A wider init than the teacher's layers allow, or other widths, are refused with the graph's name.
            Graph wrongLayers = Pruner.run(m.graph(), Pruner.Options.of(Pruner.Method.FFN, 0.5).withLayout(Layout.DENSE), null)
                    .graph();
            dev.compresso.engine.ModelException e = assertThrows(dev.compresso.engine.ModelException.class,
                    () -> dev.compresso.distill.Distiller.distill(m.graph(), wrongLayers, ids, o, s -> {}, (st, l) -> {},
                            (s, t, x) -> {}));
            assertTrue(e.getMessage().contains("not the student's"), e.getMessage());
        }
    }
}
