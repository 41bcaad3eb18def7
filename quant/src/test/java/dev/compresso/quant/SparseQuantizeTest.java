package dev.compresso.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.compresso.engine.Model;
import dev.compresso.engine.format.ModelFiles;
import dev.compresso.engine.graph.Graph;
import dev.compresso.engine.graph.Linear;
import dev.compresso.engine.graph.Rewriter;
import dev.compresso.engine.weights.Bsr16Matrix;
import dev.compresso.engine.weights.BsrMatrix;
import dev.compresso.engine.weights.CsrMatrix;
import dev.compresso.engine.weights.Int8Panels;
import dev.compresso.engine.weights.Nm24Matrix;
import dev.compresso.engine.weights.PackedWeights;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Prune, then quantize: on all-MiniLM-L6-v2 with its linear layers pruned into each sparse format in turn, every
 * pass keeps each pruned layer in its format, with its removed weights removed, and changes only the values.
 */
class SparseQuantizeTest {
    static Model model;
    static Graph pruned;
    @TempDir
    Path dir;

    @BeforeAll
    static void prune() throws Exception {
        QuantizerTest.extract();
        model = Model.load(QuantizerTest.onnx);
        Graph src = model.graph();
        Rewriter g = src.rewrite();
        List<Linear> ls = src.linears();
        for (int i = 0; i < ls.size(); i++) {
            Linear l = ls.get(i);
            int n = l.outFeatures(), k = l.inFeatures();
            float[] w = l.weights().toDense();
            PackedWeights p = switch (i % 5) {
                case 0 -> CsrMatrix.fromDense(magnitude(w, 0.5), n, k, CsrMatrix.ValueType.FP32);
                case 1 -> Bsr16Matrix.fromDense(blocks(w, n, k, 16), n, k, CsrMatrix.ValueType.FP32);
                case 2 -> Nm24Matrix.fromDense(w, n, k, CsrMatrix.ValueType.FP32); // keeps 2 of every 4
                case 3 -> BsrMatrix.fromDense(blocks(w, n, k, 4), n, k);
                default -> l.weights(); // a dense layer among them
            };
            g.replace(l, l.withWeights(p));
        }
        pruned = g.build();
    }

    @AfterAll
    static void close() {
        model.close();
    }

    /** Zeroes the smallest {@code share} of the entries by magnitude. */
    static float[] magnitude(float[] w, double share) {
        float[] a = new float[w.length];
        for (int i = 0; i < w.length; i++) {
            a[i] = Math.abs(w[i]);
        }
        Arrays.sort(a);
        float t = a[(int) (share * (a.length - 1))];
        float[] out = w.clone();
        for (int i = 0; i < out.length; i++) {
            if (Math.abs(out[i]) <= t) {
                out[i] = 0f;
            }
        }
        return out;
    }

    /** Zeroes every other {@code rows}x1 block (whole blocks along the output channels, alternating columns). */
    static float[] blocks(float[] w, int n, int k, int rows) {
        float[] out = w.clone();
        for (int r = 0; r < n; r++) {
            for (int c = 0; c < k; c++) {
                if (((r / rows) + c) % 2 == 0) {
                    out[r * k + c] = 0f;
                }
            }
        }
        return out;
    }

    private static void assertSameLayoutWithValues(Linear before, Linear after, CsrMatrix.ValueType values) {
        PackedWeights b = before.weights(), a = after.weights();
        String name = before.name();
        switch (b) {
            case CsrMatrix c -> {
                CsrMatrix q = assertInstanceOf(CsrMatrix.class, a, name);
                assertEquals(values, q.valueType(), name);
                assertEquals(c.nnz(), q.nnz(), name);
            }
            case Bsr16Matrix s -> {
                Bsr16Matrix q = assertInstanceOf(Bsr16Matrix.class, a, name);
                assertEquals(values, q.valueType(), name);
                assertEquals(s.blocks(), q.blocks(), name);
            }
            case Nm24Matrix s -> assertEquals(values, assertInstanceOf(Nm24Matrix.class, a, name).valueType(), name);
            case BsrMatrix s -> assertSame(b, a, name + ": the 4x1 format stores fp32 only, so the layer is kept");
            default -> {
                return; // dense layers are covered by QuantizerTest
            }
        }
        float[] wb = b.toDense(), wa = a.toDense();
        for (int i = 0; i < wb.length; i++) {
            if (wb[i] == 0f) {
                assertEquals(0f, wa[i], name + ": removed weight " + i + " came back");
            }
        }
    }

    @Test
    void int8KeepsEverySparseLayoutAndQuantizesTheRest() throws Exception {
        List<String> lines = new ArrayList<>();
        Graph q = Quantizer.run(pruned, Quantizer.Options.of(Quantizer.Mode.INT8), QuantizerTest.tok, List.of(), lines::add).graph();
        List<Linear> before = pruned.linears(), after = q.linears();
        for (int i = 0; i < before.size(); i++) {
            assertSameLayoutWithValues(before.get(i), after.get(i), CsrMatrix.ValueType.INT8);
            if (i % 5 == 4) {
                assertInstanceOf(Int8Panels.class, after.get(i).weights());
            }
        }
        assertTrue(Embeddings.gathers(q).isEmpty(), "the embedding tables are quantized too");
        assertTrue(lines.stream().anyMatch(s -> s.contains("csr-fp32 -> csr-int8") && s.contains("sparsity 0.5")), lines.toString());
        assertTrue(lines.stream().anyMatch(s -> s.contains("kept (the 4x1 block format stores fp32 only)")));
        double c = QuantizerTest.cosine(pruned, q);
        assertTrue(c > 0.99, "int8 of the pruned model against the pruned model: " + c);

        // through the file and back, bit for bit
        Path p = dir.resolve("pq");
        ModelFiles.write(q, QuantizerTest.tok.toJson(), Map.of(), p);
        List<Linear> back = ModelFiles.read(p).graph().linears();
        for (int i = 0; i < after.size(); i++) {
            assertEquals(after.get(i).weights().format(), back.get(i).weights().format());
            assertTrue(Arrays.equals(after.get(i).weights().toDense(), back.get(i).weights().toDense()), after.get(i).name());
        }
    }

    @Test
    void staticAndFp16KeepTheSparseLayouts() throws Exception {
        Quantizer.Options st = Quantizer.Options.of(Quantizer.Mode.INT8_STATIC).withEstimator(RangeEstimator.MINMAX)
                .withSmoothing(0.5);
        Graph s = Quantizer.run(pruned, st, QuantizerTest.tok, QuantizerTest.CALIB, x -> {}).graph();
        List<Linear> before = pruned.linears(), after = s.linears();
        for (int i = 0; i < before.size(); i++) {
            Linear a = after.get(i);
            if (SparseValues.isSparse(before.get(i).weights())) {
                assertTrue(SparseValues.isSparse(a.weights()), a.name() + " stays sparse under SmoothQuant");
                assertFalse(a.isStatic(), a.name() + ": sparse kernels take fp32 activations");
            } else {
                assertTrue(a.isStatic(), a.name());
            }
        }
        assertTrue(QuantizerTest.cosine(pruned, s) > 0.95);

        Graph h = Quantizer.run(pruned, Quantizer.Options.of(Quantizer.Mode.FP16)).graph();
        before = pruned.linears();
        after = h.linears();
        for (int i = 0; i < before.size(); i++) {
            assertSameLayoutWithValues(before.get(i), after.get(i), CsrMatrix.ValueType.FP16);
        }
        assertTrue(QuantizerTest.cosine(pruned, h) > 0.9999);
    }

    @Test
    void quantizationAwareTrainingRefusesAPrunedModel() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> QuantAwareTraining.run(pruned,
                QuantizerTest.tok, QuantizerTest.CALIB, List.of(new int[] {101, 2023, 102}),
                QuantAwareTraining.Options.defaults(), s -> {}));
        assertTrue(e.getMessage().contains(pruned.linears().get(0).name()) && e.getMessage().contains("pruned"),
                e.getMessage());
    }
}
