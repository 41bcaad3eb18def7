package dev.compresso.engine.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.compresso.engine.weights.Panels;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link Kernels#attentionHead} (the active provider) against the scalar reference and a double-precision
 * softmax attention, on awkward shapes: 0 and 1 key, primes, tails of the register tile and of the 16-wide
 * panels, row strides wider than the head, no mask, one mask row, a mask row per query with -inf entries.
 */
class AttentionHeadTest {

    @Test
    void matchesReferenceOnAwkwardShapes() {
        Random r = new Random(11);
        int[][] shapes = {{0, 4}, {3, 0}, {1, 1}, {1, 32}, {2, 3}, {7, 5}, {16, 16}, {17, 20}, {33, 32}, {40, 7},
            {64, 33}, {128, 32}, {129, 64}};
        for (int[] sh : shapes) {
            int s = sh[0], d = sh[1];
            for (int maskKind = 0; maskKind < 3; maskKind++) {
                int qStride = d + r.nextInt(3), oStride = d + r.nextInt(3), qOff = r.nextInt(5), oOff = r.nextInt(5);
                float[] q = new float[qOff + Math.max(0, s - 1) * qStride + d + 3];
                for (int i = 0; i < q.length; i++) {
                    q[i] = (float) r.nextGaussian();
                }
                float[][] kd = new float[s][d], vd = new float[s][d];
                float[] k = new float[(int) Panels.elementCount(s, d) + 2], v = new float[(int) Panels.elementCount(d, s) + 2];
                for (int j = 0; j < s; j++) {
                    for (int e = 0; e < d; e++) {
                        kd[j][e] = (float) r.nextGaussian() * 0.4f;
                        vd[j][e] = (float) r.nextGaussian();
                        k[2 + (int) Panels.index(j, e, d)] = kd[j][e];
                        v[1 + (int) Panels.index(e, j, s)] = vd[j][e];
                    }
                }
                int addStride = maskKind == 2 ? s : 0;
                float[] add = maskKind == 0 ? null : new float[Math.max(0, (s - 1) * addStride + s)];
                if (add != null) {
                    for (int i = 0; i < add.length; i++) {
                        add[i] = r.nextInt(4) == 0 ? Float.NEGATIVE_INFINITY : r.nextInt(3) == 0 ? -10000f : 0f;
                    }
                    for (int i = 0; i < s; i++) {
                        add[i * addStride + r.nextInt(s)] = 0f; // every query sees one key
                    }
                }
                float[] got = new float[oOff + Math.max(0, s - 1) * oStride + d + 3], ref = got.clone();
                Arrays.fill(got, 7f);
                Arrays.fill(ref, 7f);
                Kernels.attentionHead(q, qOff, qStride, k, 2, v, 1, s, d, add, addStride, got, oOff, oStride);
                ScalarKernels.INSTANCE.attentionHead(q, qOff, qStride, k, 2, v, 1, s, d, add, addStride, ref, oOff, oStride);
                boolean[] written = new boolean[got.length];
                for (int i = 0; i < s; i++) {
                    double[] p = new double[s];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < s; j++) {
                        double dot = 0;
                        for (int e = 0; e < d; e++) {
                            dot += (double) q[qOff + i * qStride + e] * kd[j][e];
                        }
                        p[j] = dot + (add == null ? 0 : add[i * addStride + j]);
                        max = Math.max(max, p[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < s; j++) {
                        p[j] = Math.exp(p[j] - max);
                        sum += p[j];
                    }
                    for (int e = 0; e < d; e++) {
                        double want = 0;
                        for (int j = 0; j < s; j++) {
                            want += p[j] / sum * vd[j][e];
                        }
                        int o = oOff + i * oStride + e;
                        written[o] = true;
                        String where = s + "x" + d + " mask " + maskKind + " O[" + i + "][" + e + "]";
                        assertEquals(want, got[o], 2e-5 * (1 + Math.abs(want)), where + " vs double");
                        assertEquals(ref[o], got[o], 2e-5 * (1 + Math.abs(ref[o])), where + " vs reference");
                    }
                }
                for (int i = 0; i < got.length; i++) {
                    if (!written[i]) {
                        assertEquals(7f, got[i], s + "x" + d + ": element " + i + " outside the output rows was written");
                    }
                }
            }
        }
    }

    @Test
    void refusesArraysTooSmallForTheShape() {
        int s = 5, d = 4;
        float[] q = new float[s * d], k = new float[(int) Panels.elementCount(s, d)], v = new float[(int) Panels.elementCount(d, s)],
                o = new float[s * d];
        Kernels.attentionHead(q, 0, d, k, 0, v, 0, s, d, null, 0, o, 0, d); // fits exactly
        assertThrows(IllegalArgumentException.class, () -> Kernels.attentionHead(q, 1, d, k, 0, v, 0, s, d, null, 0, o, 0, d));
        assertThrows(IllegalArgumentException.class, () -> Kernels.attentionHead(q, 0, d, k, 1, v, 0, s, d, null, 0, o, 0, d));
        assertThrows(IllegalArgumentException.class, () -> Kernels.attentionHead(q, 0, d, k, 0, v, 1, s, d, null, 0, o, 0, d));
        assertThrows(IllegalArgumentException.class, () -> Kernels.attentionHead(q, 0, d, k, 0, v, 0, s, d, null, 0, o, 0, d + 1));
        assertThrows(IllegalArgumentException.class, () -> Kernels.attentionHead(q, 0, d - 1, k, 0, v, 0, s, d, null, 0, o, 0, d));
        assertThrows(IllegalArgumentException.class, () -> Kernels.attentionHead(q, 0, d, k, 0, v, 0, s, d, new float[s - 1], 0, o, 0, d));
        assertThrows(IllegalArgumentException.class, () -> Kernels.attentionHead(q, 0, d, k, 0, v, 0, s, d, new float[s * s - 1], s, o, 0, d));
        assertThrows(IllegalArgumentException.class, () -> Kernels.attentionHead(q, 0, d, k, 0, v, 0, -1, d, null, 0, o, 0, d));
    }
}
