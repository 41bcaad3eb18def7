package dev.compresso.engine.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** {@link Kernels#softmax} (the active provider) against the scalar reference and against a double softmax. */
class SoftmaxTest {
    private static final int[] SIZES = {0, 1, 2, 3, 7, 15, 16, 17, 31, 33, 127, 128, 384, 1000};

    @Test
    void matchesReferenceOnAwkwardLengthsWithAndWithoutMask() {
        Random r = new Random(5);
        for (int n : SIZES) {
            for (boolean masked : new boolean[] {false, true}) {
                float[] x = new float[n], add = masked ? new float[n] : null;
                for (int i = 0; i < n; i++) {
                    x[i] = (float) r.nextGaussian() * 8f;
                    if (masked) {
                        // BERT-style masks: 0 for real tokens, a large negative number for padding.
                        add[i] = r.nextInt(4) == 0 ? -3.4028235e38f : r.nextInt(3) == 0 ? -10000f : 0f;
                    }
                }
                if (masked && n > 0) {
                    add[r.nextInt(n)] = 0f; // at least one real token
                }
                float[] got = x.clone(), ref = x.clone();
                Kernels.softmax(got, add, n);
                ScalarKernels.INSTANCE.softmax(ref, add, n);
                double max = Double.NEGATIVE_INFINITY;
                for (int i = 0; i < n; i++) {
                    max = Math.max(max, x[i] + (masked ? (double) add[i] : 0));
                }
                double sum = 0;
                for (int i = 0; i < n; i++) {
                    sum += Math.exp(x[i] + (masked ? (double) add[i] : 0) - max);
                }
                double total = 0;
                for (int i = 0; i < n; i++) {
                    double exact = Math.exp(x[i] + (masked ? (double) add[i] : 0) - max) / sum;
                    String where = "n=" + n + (masked ? " masked" : "") + " [" + i + "]";
                    assertEquals(ref[i], got[i], 2e-6 * (1 + ref[i]), where + " vs reference");
                    assertEquals(exact, got[i], 2e-6, where + " vs double");
                    assertTrue(got[i] >= 0f, where + " negative");
                    total += got[i];
                }
                if (n > 0) {
                    assertEquals(1.0, total, 1e-5, "n=" + n + " sums to one");
                }
            }
        }
    }

    @Test
    void badLengthIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> Kernels.softmax(new float[3], null, 4));
        assertThrows(IllegalArgumentException.class, () -> Kernels.softmax(new float[3], new float[2], 3));
        assertThrows(IllegalArgumentException.class, () -> Kernels.softmax(new float[3], null, -1));
    }
}
