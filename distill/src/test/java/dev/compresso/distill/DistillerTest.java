package dev.compresso.distill;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.compresso.distill.train.Encoder;
import dev.compresso.distill.train.TokenBatch;
import dev.compresso.engine.Model;
import dev.compresso.engine.ModelException;
import dev.compresso.engine.Session;
import dev.compresso.engine.Tensor;
import dev.compresso.engine.format.ModelFiles;
import dev.compresso.engine.graph.Graph;
import dev.compresso.engine.graph.Linear;
import dev.compresso.engine.text.Encoding;
import dev.compresso.engine.text.WordPieceTokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Distillation on the real all-MiniLM-L6-v2 (from the Maven Central jar on the test class path). */
class DistillerTest {
    static Path onnx;
    static WordPieceTokenizer tok;
    static final List<String> TEXT = List.of("The quick brown fox jumps over the lazy dog.",
            "A package manager installs, upgrades and removes software.", "It rained all day in the valley.",
            "Compilers translate source code into machine instructions.", "She read the letter twice before answering.",
            "The library lends books, music and films.", "Prices rose sharply during the last quarter.",
            "Bees collect nectar from flowers in spring.");

    @TempDir
    Path dir;

    @BeforeAll
    static void extract() throws IOException {
        Path d = Files.createTempDirectory("distill-test");
        onnx = d.resolve("all-minilm-l6-v2.onnx");
        Path t = d.resolve("tokenizer.json");
        try (InputStream in = DistillerTest.class.getClassLoader().getResourceAsStream("all-minilm-l6-v2.onnx");
                InputStream ti = DistillerTest.class.getClassLoader().getResourceAsStream("all-minilm-l6-v2-tokenizer.json")) {
            Files.copy(in, onnx, StandardCopyOption.REPLACE_EXISTING);
            Files.copy(ti, t, StandardCopyOption.REPLACE_EXISTING);
        }
        tok = WordPieceTokenizer.fromJson(t);
    }

    static List<int[]> ids(List<String> text) {
        List<int[]> out = new ArrayList<>();
        for (String s : text) {
            out.add(tok.encode(s).ids());
        }
        return out;
    }

    /** The engine's last hidden state for one sentence. */
    static float[] run(Model m, String sentence) throws ModelException {
        return run(m, sentence, m.outputNames().get(0));
    }

    /** One output of the engine for one sentence (batch 1). */
    static float[] run(Model m, String sentence, String output) throws ModelException {
        Encoding e = tok.encode(sentence);
        int n = e.length();
        long[] ids = new long[n], mask = new long[n], types = new long[n];
        for (int i = 0; i < n; i++) {
            ids[i] = e.ids()[i];
            mask[i] = 1;
        }
        Map<String, Tensor> in = new HashMap<>();
        in.put("input_ids", Tensor.ofLongs(new long[] {1, n}, ids));
        in.put("attention_mask", Tensor.ofLongs(new long[] {1, n}, mask));
        in.put("token_type_ids", Tensor.ofLongs(new long[] {1, n}, types));
        try (Session s = m.newSession()) {
            return s.run(in).get(output).toFloatArray();
        }
    }

    @Test
    void cropsAreContiguousFramedAndDeterministic() {
        int[] s = {101, 5, 6, 7, 8, 9, 102};
        java.util.Set<Integer> lengths = new java.util.HashSet<>();
        for (long key = 0; key < 200; key++) {
            int[] c = Distiller.crop(s, key);
            assertArrayEquals(c, Distiller.crop(s, key), "deterministic");
            assertEquals(101, c[0]);
            assertEquals(102, c[c.length - 1]);
            int len = c.length - 2;
            assertTrue(len >= 1 && len <= 4, "between one word and all but one: " + len);
            int start = c[1] - 5 + 1;
            for (int i = 0; i < len; i++) {
                assertEquals(s[start + i], c[1 + i], "contiguous");
            }
            lengths.add(len);
        }
        assertEquals(4, lengths.size(), "every length occurs");
        assertNull(Distiller.crop(new int[] {101, 5, 102}, 1));
        assertNull(Distiller.crop(new int[] {101, 102}, 1));
    }

    @Test
    void keepingEveryLayerWithTheTeachersWeightsReproducesTheTeacherBitForBit() throws Exception {
        try (Model teacher = Model.load(onnx)) {
            BertGraph bg = BertGraph.of(teacher.graph());
            assertEquals(6, bg.config().layers());
            assertEquals(384, bg.config().hidden());
            assertEquals(12, bg.config().heads());
            Graph same = bg.student(new int[] {0, 1, 2, 3, 4, 5}, bg.weights());
            Model copy = Model.of(same);
            for (String s : TEXT.subList(0, 3)) {
                assertArrayEquals(run(teacher, s), run(copy, s), s);
            }
        }
    }

    @Test
    void theTrainersForwardPassAgreesWithTheEngine() throws Exception {
        try (Model teacher = Model.load(onnx)) {
            BertGraph bg = BertGraph.of(teacher.graph());
            Encoder enc = Encoder.frozen(bg.config(), bg.weights());
            Encoder.Pass p = enc.newPass();
            List<int[]> seqs = ids(TEXT.subList(0, 3));
            enc.forward(TokenBatch.of(seqs), p, 0f, 0, 2);
            int row = 0;
            for (int b = 0; b < 3; b++) {
                float[] e = run(teacher, TEXT.get(b));
                for (int i = 0; i < e.length; i++) {
                    assertEquals(e[i], p.output(6)[row * 384 + i], 2e-3f, "sentence " + b + " element " + i);
                }
                row += seqs.get(b).length;
            }
        }
    }

    @Test
    void aThreeLayerStudentLearnsAndIsSavedAsARunnableModel() throws Exception {
        try (Model teacher = Model.load(onnx)) {
            DistillOptions o = DistillOptions.defaults().withSteps(12, 0).withBatch(4, 64)
                    .withOptimizer(1e-3f, 0f, false, 0.01f, 1f).withRun(42, 2, 0f);
            List<Double> losses = new ArrayList<>();
            // The same 4 sentences every step (batch 4 of a 4-sentence corpus): the loss must fall.
            Distiller.Result r = Distiller.distill(teacher.graph(), ids(TEXT.subList(0, 4)), o, s -> {},
                    (step, loss) -> losses.add(loss));
            assertEquals(12, r.steps());
            assertTrue(losses.get(11) < 0.5 * losses.get(0), "loss " + losses);
            Graph g = r.student();
            assertEquals(18, g.linears().size() - 1, "3 layers of 6 linears, plus the pooler");
            Path file = dir.resolve("student.compresso");
            ModelFiles.write(g, tok.toJson(), Map.of(), file);
            try (Model saved = Model.load(file)) {
                Model live = Model.of(g);
                for (String s : TEXT.subList(4, 6)) {
                    assertArrayEquals(run(live, s), run(saved, s), "saved and reloaded: " + s);
                }
            }
            // The student graph's weights are the trained ones, not the teacher's.
            Linear q0 = g.linears().get(0);
            Linear tq0 = teacher.graph().linears().get(0);
            assertTrue(!java.util.Arrays.equals(q0.weights().toDense(), tq0.weights().toDense()));
        }
    }

    @Test
    void theWordTableIsSharedWithTheTeacherUnlessTrained() throws Exception {
        String word = "embeddings.word_embeddings.weight";
        try (Model teacher = Model.load(onnx)) {
            float[] original = teacher.graph().constants().get(word).toFloatArray();
            DistillOptions o = DistillOptions.defaults().withSteps(2, 0).withBatch(4, 64).withRun(42, 2, 0f);
            assertTrue(!o.trainEmbeddings(), "frozen by default");
            Graph frozen = Distiller.distill(teacher.graph(), ids(TEXT.subList(0, 4)), o, s -> {}).student();
            assertArrayEquals(original, frozen.constants().get(word).toFloatArray());
            Graph trained = Distiller.distill(teacher.graph(), ids(TEXT.subList(0, 4)), o.withTrainEmbeddings(true),
                    s -> {}).student();
            assertTrue(!java.util.Arrays.equals(original, trained.constants().get(word).toFloatArray()));
            // both trained the layers
            assertTrue(!java.util.Arrays.equals(frozen.linears().get(0).weights().toDense(),
                    teacher.graph().linears().get(0).weights().toDense()));
            // A frozen encoder (a teacher) keeps only packed linear weights and says so.
            BertGraph bg = BertGraph.of(teacher.graph());
            Encoder t = Encoder.frozen(bg.config(), bg.weights());
            IllegalStateException e = assertThrows(IllegalStateException.class, t::weights);
            assertTrue(e.getMessage().contains("frozen"), e.getMessage());
        }
    }

    @Test
    void resumingFromACheckpointEndsOnTheWeightsOfAnUninterruptedRun() throws Exception {
        try (Model teacher = Model.load(onnx)) {
            List<int[]> corpus = ids(TEXT);
            DistillOptions o = DistillOptions.defaults().withSteps(1, 0).withBatch(3, 64).withRun(7, 2, 0.1f)
                    .withOptimizer(5e-4f, 0.2f, true, 0.01f, 1f).withLosses(1f, 0.5f, 1f, 0.5f);
            Graph whole = Distiller.distill(teacher.graph(), corpus, o, s -> {}).student();
            Path ckpt = dir.resolve("run.ckpt");
            DistillOptions interrupted = o.withCheckpoint(ckpt, 2, null);
            // A crash after step 2's checkpoint: the run dies in step 3.
            RuntimeException crash = assertThrows(RuntimeException.class,
                    () -> Distiller.distill(teacher.graph(), corpus, interrupted, s -> {}, (step, loss) -> {
                        if (step == 2) {
                            throw new RuntimeException("simulated crash");
                        }
                    }));
            assertEquals("simulated crash", crash.getMessage());
            try (var files = Files.list(dir)) {
                assertEquals(List.of(ckpt), files.toList(), "only the checkpoint, no temporary file");
            }
            Graph resumed = Distiller.distill(teacher.graph(), corpus, o.withCheckpoint(ckpt, 2, ckpt), s -> {}).student();
            for (int i = 0; i < whole.linears().size(); i++) {
                assertArrayEquals(whole.linears().get(i).weights().toDense(), resumed.linears().get(i).weights().toDense(),
                        "linear " + i);
            }
            assertArrayEquals(whole.constants().get("embeddings.word_embeddings.weight").toFloatArray(),
                    resumed.constants().get("embeddings.word_embeddings.weight").toFloatArray());
            // A checkpoint of another recipe is refused, naming the file.
            IOException other = assertThrows(IOException.class, () -> Distiller.distill(teacher.graph(), corpus,
                    o.withBatch(2, 64).withCheckpoint(null, 2, ckpt), s -> {}));
            assertTrue(other.getMessage().contains(ckpt.toString()) && other.getMessage().contains("another run"),
                    other.getMessage());
            // A damaged checkpoint is refused.
            byte[] bytes = Files.readAllBytes(ckpt);
            bytes[bytes.length / 2] ^= 1;
            Path bad = dir.resolve("bad.ckpt");
            Files.write(bad, bytes);
            IOException damaged = assertThrows(IOException.class, () -> Distiller.distill(teacher.graph(), corpus,
                    o.withCheckpoint(null, 2, bad), s -> {}));
            assertTrue(damaged.getMessage().contains("checksum"), damaged.getMessage());
        }
    }

    @Test
    void badSettingsAndDataGetClearErrors() throws Exception {
        try (Model teacher = Model.load(onnx)) {
            DistillOptions o = DistillOptions.defaults();
            assertThrows(IllegalArgumentException.class, () -> Distiller.distill(teacher.graph(), List.of(), o, s -> {}));
            ModelException layers = assertThrows(ModelException.class, () -> Distiller.distill(teacher.graph(),
                    ids(TEXT), o.withLayers(new int[] {0, 6}), s -> {}));
            assertTrue(layers.getMessage().contains("6 layers"), layers.getMessage());
            assertThrows(ModelException.class, () -> Distiller.distill(teacher.graph(), ids(TEXT),
                    o.withLayers(new int[] {2, 1}), s -> {}));
            IllegalArgumentException empty = assertThrows(IllegalArgumentException.class,
                    () -> Distiller.distill(teacher.graph(), List.of(new int[0]), o, s -> {}));
            assertTrue(empty.getMessage().contains("sentence 0"), empty.getMessage());
            assertThrows(IllegalArgumentException.class, () -> o.withBatch(0, 64));
            assertThrows(IllegalArgumentException.class, () -> o.withLosses(0f, 0f, 0f, 0f));
        }
    }

    @Test
    void aClassifierStudentTrainsOnSoftTargetsAndRunsOnTheEngineWithTheSameLogits() throws Exception {
        try (Model teacherModel = Model.load(onnx)) {
            BertGraph bg = BertGraph.of(teacherModel.graph());
            var tw = bg.weights();
            List<int[]> x = ids(TEXT);
            int[] labels = {0, 1, 0, 1, 0, 0, 1, 0};
            Classifier teacher = Classifier.withNewHead(Encoder.frozen(bg.config(), tw), 2, 1, false);
            teacher.trainHeadOnFeatures(teacher.features(x, 4, 2), labels, 60, 8, 1e-2f, 1);
            assertEquals(1.0, teacher.accuracy(x, labels, 4, 2), "the head fits 8 sentences");
            float[] tl = teacher.allLogits(x, 4, 2);
            float[][] head = teacher.head();
            int[] keep = {0, 3};
            Classifier student = new Classifier(Encoder.of(bg.config().withLayers(2), tw.select(keep)), head[0], head[1],
                    true);
            student.train(x, labels, tl, new Classifier.TrainOptions(6, 4, 5e-4f, 0f, 2f, 0.5f, 3, 2), s -> {});
            float[] z = student.allLogits(x, 8, 2);
            Graph g = student.toGraph(bg.student(keep, student.encoder().weights()));
            Model m = Model.of(g);
            for (int b = 0; b < 2; b++) {
                float[] engine = run(m, TEXT.get(b), "logits");
                assertEquals(2, engine.length);
                assertEquals(z[b * 2], engine[0], 2e-3f, "logit 0 of sentence " + b);
                assertEquals(z[b * 2 + 1], engine[1], 2e-3f, "logit 1 of sentence " + b);
            }
        }
    }
}
