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

    /**
     * Row softmax numerators and inverse sums on a segment ({@link Kernels#softmaxRows}), then {@link
     * Kernels#scaleRows}: against the scalar reference and double precision, with no mask, one mask row for all
     * rows, and a mask row per row; on a native segment and on a heap one (the reference path).
     */
    @Test
    void softmaxRowsAndScaleRowsMatchReferenceOnAwkwardShapes() {
        Random r = new Random(7);
        int[][] shapes = {{0, 0}, {0, 5}, {3, 0}, {1, 1}, {1, 17}, {2, 3}, {5, 16}, {3, 31}, {7, 33}, {4, 128}, {2, 129}};
        for (int[] sh : shapes) {
            int rows = sh[0], n = sh[1];
            for (int maskKind = 0; maskKind < 3; maskKind++) {
                for (boolean heap : new boolean[] {false, true}) {
                    int stride = maskKind == 2 ? n : 0;
                    float[] add = maskKind == 0 ? null : new float[Math.max(0, (rows - 1) * stride + n)];
                    if (add != null) {
                        for (int i = 0; i < add.length; i++) {
                            add[i] = r.nextInt(4) == 0 ? Float.NEGATIVE_INFINITY : r.nextInt(3) == 0 ? -10000f : 0f;
                        }
                        for (int i = 0; i < rows && n > 0; i++) {
                            add[i * stride + r.nextInt(n)] = 0f; // every row keeps one real token
                        }
                    }
                    float[] x = new float[rows * n];
                    for (int i = 0; i < x.length; i++) {
                        x[i] = (float) r.nextGaussian() * 8f;
                    }
                    java.lang.foreign.MemorySegment got = heap
                            ? java.lang.foreign.MemorySegment.ofArray(x.clone())
                            : java.lang.foreign.Arena.ofAuto().allocate(Math.max(1, x.length * 4L), 64);
                    java.lang.foreign.MemorySegment ref = java.lang.foreign.Arena.ofAuto().allocate(Math.max(1, x.length * 4L), 64);
                    java.lang.foreign.MemorySegment.copy(x, 0, got, java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, 0, x.length);
                    java.lang.foreign.MemorySegment.copy(x, 0, ref, java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, 0, x.length);
                    float[] inv = new float[rows], invRef = new float[rows];
                    Kernels.softmaxRows(got, rows, n, add, stride, inv);
                    ScalarKernels.INSTANCE.softmaxRows(ref, rows, n, add, stride, invRef);
                    float[] scales = inv.clone();
                    Kernels.scaleRows(got, rows, n, scales);
                    ScalarKernels.INSTANCE.scaleRows(ref, rows, n, invRef);
                    for (int i = 0; i < rows; i++) {
                        double max = Double.NEGATIVE_INFINITY;
                        for (int j = 0; j < n; j++) {
                            max = Math.max(max, x[i * n + j] + (add == null ? 0 : (double) add[i * stride + j]));
                        }
                        double sum = 0;
                        for (int j = 0; j < n; j++) {
                            sum += Math.exp(x[i * n + j] + (add == null ? 0 : (double) add[i * stride + j]) - max);
                        }
                        double total = 0;
                        for (int j = 0; j < n; j++) {
                            double exact = Math.exp(x[i * n + j] + (add == null ? 0 : (double) add[i * stride + j]) - max) / sum;
                            float g = Kernels.getFloat(got, (long) i * n + j), f = Kernels.getFloat(ref, (long) i * n + j);
                            String where = rows + "x" + n + " mask " + maskKind + (heap ? " heap" : "") + " [" + i + "][" + j + "]";
                            assertEquals(exact, g, 2e-6, where + " vs double");
                            assertEquals(f, g, 2e-6 * (1 + f), where + " vs reference");
                            assertTrue(g >= 0f, where + " negative");
                            total += g;
                        }
                        if (n > 0) {
                            assertEquals(1.0, total, 1e-5, rows + "x" + n + " row " + i + " sums to one");
                            assertEquals(1 / sum, inv[i], 1e-5 / sum, rows + "x" + n + " row " + i + " inverse sum");
                        }
                    }
                }
            }
        }
    }

    @Test
    void softmaxRowsRefusesShortBuffers() {
        var seg = java.lang.foreign.Arena.ofAuto().allocate(4L * 12, 64);
        assertThrows(IllegalArgumentException.class, () -> Kernels.softmaxRows(seg, 4, 4, null, 0, new float[4]));
        assertThrows(IllegalArgumentException.class, () -> Kernels.softmaxRows(seg, 3, 4, null, 0, new float[2]));
        assertThrows(IllegalArgumentException.class, () -> Kernels.softmaxRows(seg, 3, 4, new float[11], 4, new float[3]));
        assertThrows(IllegalArgumentException.class, () -> Kernels.softmaxRows(seg, 3, 4, new float[3], 0, new float[3]));
        assertThrows(IllegalArgumentException.class, () -> Kernels.softmaxRows(seg, -1, 4, null, 0, new float[3]));
        assertThrows(IllegalArgumentException.class, () -> Kernels.scaleRows(seg, 3, 4, new float[2]));
        assertThrows(IllegalArgumentException.class, () -> Kernels.scaleRows(seg, 4, 4, new float[4]));
    }

    @Test
    void badLengthIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> Kernels.softmax(new float[3], null, 4));
        assertThrows(IllegalArgumentException.class, () -> Kernels.softmax(new float[3], new float[2], 3));
        assertThrows(IllegalArgumentException.class, () -> Kernels.softmax(new float[3], null, -1));
    }
}
