package dev.compresso.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.compresso.engine.graph.Attention;
import dev.compresso.engine.graph.LayerNorm;
import dev.compresso.engine.graph.Linear;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** all-MiniLM-L6-v2 (fp32 and ONNX Runtime's int8 export) against ONNX Runtime. */
class MiniLmOrtTest {

    static int[] lengths(int batch) {
        return switch (batch) {
            case 1 -> new int[] {13};
            case 3 -> new int[] {7, 16, 2};
            default -> new int[] {5, 9, 31, 2, 17, 31, 1, 24};
        };
    }

    static void compare(String resource, int batch, float tol) throws Exception {
        Path p = Oracle.resource(resource);
        Map<String, Tensor> in = Oracle.bertInputs(lengths(batch), 42 + batch);
        Map<String, Object[]> ref = Oracle.ort(p, in);
        try (Model m = Model.load(p); Session s = m.newSession()) {
            Map<String, Tensor> out = s.run(in);
            assertEquals(ref.keySet(), out.keySet());
            for (var e : ref.entrySet()) {
                Tensor t = out.get(e.getKey());
                assertArrayEquals((long[]) e.getValue()[0], t.shape(), e.getKey());
                float d = Oracle.maxDiff((float[]) e.getValue()[1], t.toFloatArray());
                System.out.printf("%s batch %d %s: max|diff| = %.3g%n", resource, batch, e.getKey(), d);
                assertTrue(d <= tol, resource + " " + e.getKey() + " batch " + batch + ": max|diff| " + d);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 3, 8})
    void fp32MatchesOrt(int batch) throws Exception {
        compare("all-minilm-l6-v2.onnx", batch, 1e-4f);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 3, 8})
    void int8MatchesOrt(int batch) throws Exception {
        compare("all-minilm-l6-v2-q.onnx", batch, 1e-3f);
    }

    @Test
    void fp32GraphIsFused() throws Exception {
        try (Model m = Model.load(Oracle.resource("all-minilm-l6-v2.onnx"))) {
            long linears = m.graph().nodes().stream().filter(n -> n instanceof Linear).count();
            long norms = m.graph().nodes().stream().filter(n -> n instanceof LayerNorm).count();
            long att = m.graph().nodes().stream().filter(n -> n instanceof Attention).count();
            System.out.println("fused graph: " + m.graph().nodes().size() + " nodes, " + linears + " Linear, " + norms
                    + " LayerNorm, " + att + " Attention");
            assertEquals(37, linears); // 6 layers x (q, k, v, out, up, down) + pooler
            assertEquals(13, norms);
            assertEquals(6, att);
        }
    }
}
