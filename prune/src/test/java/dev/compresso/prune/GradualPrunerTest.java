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
        Path d = Files.createTempDirectory("gradual-test");
        Path onnx = d.resolve("m.onnx"), tj = d.resolve("tokenizer.json");
        try (InputStream in = GradualPrunerTest.class.getClassLoader().getResourceAsStream("all-minilm-l6-v2.onnx");
                InputStream ti = GradualPrunerTest.class.getClassLoader().getResourceAsStream("all-minilm-l6-v2-tokenizer.json")) {
            Files.copy(in, onnx, StandardCopyOption.REPLACE_EXISTING);
            Files.copy(ti, tj, StandardCopyOption.REPLACE_EXISTING);
        }
        WordPieceTokenizer tok = WordPieceTokenizer.fromJson(tj);
        List<int[]> ids = new ArrayList<>();
        for (String s : List.of("The cat sat on the mat.", "Compilers translate code.", "Rain fell all day.",
                "A package manager installs software.", "She read the letter twice.", "Bees collect nectar.")) {
            ids.add(tok.encode(s).ids());
        }
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
                    Pruner.Options.of(Pruner.Method.FFN, 0.5), train, new GradualPruner.Schedule(0.5, 3), s -> {}));
        }
    }
}
