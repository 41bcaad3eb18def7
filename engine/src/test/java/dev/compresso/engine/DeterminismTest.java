package dev.compresso.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The same model on the same input gives the same bits on every run, before and after the JIT compiled the
 * kernels (interpreter, C1 and C2 must agree), at one, two and four threads. With a batch of three, attention
 * runs one task per sequence at one and two threads and one per head at four: both paths must give the same bits.
 */
class DeterminismTest {
    @Test
    void repeatedRunsAreBitIdentical() throws Exception {
        try (Model m = Model.load(Oracle.resource("all-minilm-l6-v2.onnx"))) {
            Map<String, Tensor> in = Oracle.bertInputs(MiniLmOrtTest.lengths(3), 7);
            float[] first = null;
            for (int threads : new int[] {1, 2, 4}) {
                try (Session s = m.newSession(new SessionOptions().threads(threads))) {
                    for (int rep = 0; rep < 6; rep++) {
                        float[] x = s.run(in).get("output_0").toFloatArray();
                        if (first == null) {
                            first = x;
                        }
                        for (int i = 0; i < x.length; i++) {
                            assertEquals(Float.floatToRawIntBits(first[i]), Float.floatToRawIntBits(x[i]),
                                    "threads " + threads + " run " + rep + " output_0[" + i + "]");
                        }
                    }
                }
            }
        }
    }
}
