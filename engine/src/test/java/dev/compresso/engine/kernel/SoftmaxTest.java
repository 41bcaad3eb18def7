package dev.compresso.engine.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link Kernels#softmax} and {@link Kernels#layerNorm} (the active provider) against the scalar reference and
 * against double-precision formulas.
 */
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
    void layerNormMatchesDoubleOnAwkwardLengths() {
        Random r = new Random(6);
        for (int n : SIZES) {
            if (n == 0) {
                continue;
            }
            for (boolean withResidual : new boolean[] {false, true}) {
                float[] x = new float[n], res = withResidual ? new float[n] : null, g = new float[n], b = new float[n];
                for (int i = 0; i < n; i++) {
                    x[i] = (float) r.nextGaussian() * 4f + 3f; // an offset mean, as in residual streams
                    if (withResidual) {
                        res[i] = (float) r.nextGaussian();
                    }
                    g[i] = 0.5f + r.nextFloat();
                    b[i] = (float) r.nextGaussian() * 0.1f;
                }
                double mean = 0;
                for (int i = 0; i < n; i++) {
                    mean += x[i] + (withResidual ? (double) res[i] : 0);
                }
                mean /= n;
                double var = 0;
                for (int i = 0; i < n; i++) {
                    double d = x[i] + (withResidual ? (double) res[i] : 0) - mean;
                    var += d * d;
                }
                var /= n;
                float[] got = x.clone(), ref = x.clone();
                Kernels.layerNorm(got, res, g, b, 1e-12f, n);
                ScalarKernels.INSTANCE.layerNorm(ref, res, g, b, 1e-12f, n);
                for (int i = 0; i < n; i++) {
                    double exact = (x[i] + (withResidual ? (double) res[i] : 0) - mean) / Math.sqrt(var + 1e-12) * g[i] + b[i];
                    String where = "n=" + n + (withResidual ? " +residual" : "") + " [" + i + "]";
                    assertEquals(exact, got[i], 2e-5 * (1 + Math.abs(exact)), where + " vs double");
                    assertEquals(ref[i], got[i], 4e-5 * (1 + Math.abs(ref[i])), where + " vs reference");
                }
            }
        }
        assertThrows(IllegalArgumentException.class, () -> Kernels.layerNorm(new float[3], null, new float[2], new float[3], 1e-5f, 3));
        assertThrows(IllegalArgumentException.class, () -> Kernels.layerNorm(new float[3], null, new float[3], new float[3], 1e-5f, 0));
    }

    @Test
    void badLengthIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> Kernels.softmax(new float[3], null, 4));
        assertThrows(IllegalArgumentException.class, () -> Kernels.softmax(new float[3], new float[2], 3));
        assertThrows(IllegalArgumentException.class, () -> Kernels.softmax(new float[3], null, -1));
    }
}
