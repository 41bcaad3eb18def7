package dev.compresso.engine.kernel;

import dev.compresso.engine.weights.Panels;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * One attention head in vector lanes, a tile of {@link Fp32Vector#MR} query rows at a time, with nothing packed
 * per call: the scores of the tile's rows against every key ({@code Q·Kᵀ}, K in panel layout, the Q rows
 * broadcast straight from their array), the softmax numerators of those rows while they sit in L1, then their
 * product with V ({@code Vᵀ} in panel layout, the probabilities broadcast from the same L1 rows), each output row
 * scaled by its 1/sum. Through the GEMM kernel, the two products packed A for every head (the 128×128
 * probabilities each time) and staged every register tile through C; the products themselves ran at about half
 * the FMA peak.
 *
 * <p>The products accumulate in the GEMM kernel's order (one FMA chain per output over the inner dimension),
 * and the softmax takes a maximum pass, then an exponential-and-sum pass ({@link VectorMath#expNonPositive},
 * fixed-order lane sum); the 1/sum multiplies the output rows.
 */
final class AttentionVector {
    private static final VectorSpecies<Float> S = Fp32Vector.S;
    private static final int L = S.length();
    private static final int TW = Fp32Vector.TW;
    private static final int MR = Fp32Vector.MR;
    private static final int NR = Panels.NR;

    /**
     * Per-thread score rows ({@code MR × keys}, keys rounded up to a register tile), inverse sums, and one mask
     * row padded likewise.
     */
    private static final ThreadLocal<float[][]> SCRATCH =
            ThreadLocal.withInitial(() -> new float[][] {new float[0], new float[MR], new float[0]});

    private AttentionVector() {}

    /** See {@link KernelProvider#attentionHead}. */
    static void head(float[] q, int qOff, int qStride, float[] k, int kOff, float[] v, int vOff, int s, int d,
            float[] add, int addStride, float[] out, int oOff, int oStride) {
        if (s == 0 || d == 0) {
            return; // no queries, or empty output rows
        }
        int sPad = (s + TW - 1) / TW * TW;
        float[][] scratch = SCRATCH.get();
        if (scratch[0].length < MR * sPad) {
            scratch[0] = new float[MR * sPad];
        }
        if (scratch[2].length < sPad) {
            scratch[2] = new float[sPad];
        }
        float[] sb = scratch[0], inv = scratch[1], addPad = scratch[2];
        // The softmax runs over whole vectors of the padded rows: keys past s score -inf (numerator 0), and
        // the mask row is copied to a padded row (0 past s) so no lane reads past the caller's array.
        if (add != null) {
            java.util.Arrays.fill(addPad, s, sPad, 0f);
            if (addStride == 0) {
                System.arraycopy(add, 0, addPad, 0, s);
            }
        }
        int kEnd = Panels.panelCount(s) * NR, vEnd = Panels.panelCount(d) * NR;
        for (int i0 = 0; i0 < s; i0 += MR) {
            int rows = Math.min(MR, s - i0);
            int q0 = qOff + i0 * qStride;
            for (int j0 = 0; j0 < s; j0 += TW) {
                int b0 = kOff + (j0 / NR) * d * NR + j0 % NR;
                int b1 = j0 + L < kEnd ? kOff + ((j0 + L) / NR) * d * NR + (j0 + L) % NR : b0;
                if (MR == 8) {
                    scores8(q, q0, qStride, rows, k, b0, b1, d, sb, sPad, j0);
                } else {
                    scores4(q, q0, qStride, rows, k, b0, b1, d, sb, sPad, j0);
                }
            }
            for (int r = 0; r < rows; r++) {
                int o = r * sPad;
                for (int j = s; j < sPad; j++) {
                    sb[o + j] = Float.NEGATIVE_INFINITY;
                }
                if (add != null && addStride != 0) {
                    System.arraycopy(add, (i0 + r) * addStride, addPad, 0, s);
                }
                inv[r] = softmaxRow(sb, o, sPad, add == null ? null : addPad);
            }
            for (int e0 = 0; e0 < d; e0 += TW) {
                int b0 = vOff + (e0 / NR) * s * NR + e0 % NR;
                int b1 = e0 + L < vEnd ? vOff + ((e0 + L) / NR) * s * NR + (e0 + L) % NR : b0;
                int cols = Math.min(TW, d - e0);
                int o0 = oOff + i0 * oStride + e0;
                if (MR == 8) {
                    values8(sb, sPad, v, b0, b1, s, inv, rows, cols, out, o0, oStride);
                } else {
                    values4(sb, sPad, v, b0, b1, s, inv, rows, cols, out, o0, oStride);
                }
            }
        }
    }

    /** Offset of query row {@code r} of a tile of {@code rows}: rows past the end repeat the last one (never stored). */
    private static int row(int q0, int stride, int rows, int r) {
        return q0 + Math.min(r, rows - 1) * stride;
    }

    /** {@code sb[r][j0 .. j0+TW) = Q[r] · K[j]} for the tile's 8 rows. */
    private static void scores8(float[] q, int q0, int qs, int rows, float[] k, int b0, int b1, int d, float[] sb,
            int sPad, int j0) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
                c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00,
                c70 = c00, c71 = c00;
        int r0 = row(q0, qs, rows, 0), r1 = row(q0, qs, rows, 1), r2 = row(q0, qs, rows, 2), r3 = row(q0, qs, rows, 3),
                r4 = row(q0, qs, rows, 4), r5 = row(q0, qs, rows, 5), r6 = row(q0, qs, rows, 6), r7 = row(q0, qs, rows, 7);
        for (int e = 0; e < d; e++) {
            FloatVector w0 = FloatVector.fromArray(S, k, b0 + e * NR);
            FloatVector w1 = FloatVector.fromArray(S, k, b1 + e * NR);
            FloatVector x = FloatVector.broadcast(S, q[r0 + e]);
            c00 = w0.fma(x, c00);
            c01 = w1.fma(x, c01);
            x = FloatVector.broadcast(S, q[r1 + e]);
            c10 = w0.fma(x, c10);
            c11 = w1.fma(x, c11);
            x = FloatVector.broadcast(S, q[r2 + e]);
            c20 = w0.fma(x, c20);
            c21 = w1.fma(x, c21);
            x = FloatVector.broadcast(S, q[r3 + e]);
            c30 = w0.fma(x, c30);
            c31 = w1.fma(x, c31);
            x = FloatVector.broadcast(S, q[r4 + e]);
            c40 = w0.fma(x, c40);
            c41 = w1.fma(x, c41);
            x = FloatVector.broadcast(S, q[r5 + e]);
            c50 = w0.fma(x, c50);
            c51 = w1.fma(x, c51);
            x = FloatVector.broadcast(S, q[r6 + e]);
            c60 = w0.fma(x, c60);
            c61 = w1.fma(x, c61);
            x = FloatVector.broadcast(S, q[r7 + e]);
            c70 = w0.fma(x, c70);
            c71 = w1.fma(x, c71);
        }
        c00.intoArray(sb, j0);
        c01.intoArray(sb, j0 + L);
        c10.intoArray(sb, sPad + j0);
        c11.intoArray(sb, sPad + j0 + L);
        c20.intoArray(sb, 2 * sPad + j0);
        c21.intoArray(sb, 2 * sPad + j0 + L);
        c30.intoArray(sb, 3 * sPad + j0);
        c31.intoArray(sb, 3 * sPad + j0 + L);
        c40.intoArray(sb, 4 * sPad + j0);
        c41.intoArray(sb, 4 * sPad + j0 + L);
        c50.intoArray(sb, 5 * sPad + j0);
        c51.intoArray(sb, 5 * sPad + j0 + L);
        c60.intoArray(sb, 6 * sPad + j0);
        c61.intoArray(sb, 6 * sPad + j0 + L);
        c70.intoArray(sb, 7 * sPad + j0);
        c71.intoArray(sb, 7 * sPad + j0 + L);
    }

    /** {@link #scores8} for 4-row tiles (vectors of 8 lanes or fewer). */
    private static void scores4(float[] q, int q0, int qs, int rows, float[] k, int b0, int b1, int d, float[] sb,
            int sPad, int j0) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
                c30 = c00, c31 = c00;
        int r0 = row(q0, qs, rows, 0), r1 = row(q0, qs, rows, 1), r2 = row(q0, qs, rows, 2), r3 = row(q0, qs, rows, 3);
        for (int e = 0; e < d; e++) {
            FloatVector w0 = FloatVector.fromArray(S, k, b0 + e * NR);
            FloatVector w1 = FloatVector.fromArray(S, k, b1 + e * NR);
            FloatVector x = FloatVector.broadcast(S, q[r0 + e]);
            c00 = w0.fma(x, c00);
            c01 = w1.fma(x, c01);
            x = FloatVector.broadcast(S, q[r1 + e]);
            c10 = w0.fma(x, c10);
            c11 = w1.fma(x, c11);
            x = FloatVector.broadcast(S, q[r2 + e]);
            c20 = w0.fma(x, c20);
            c21 = w1.fma(x, c21);
            x = FloatVector.broadcast(S, q[r3 + e]);
            c30 = w0.fma(x, c30);
            c31 = w1.fma(x, c31);
        }
        c00.intoArray(sb, j0);
        c01.intoArray(sb, j0 + L);
        c10.intoArray(sb, sPad + j0);
        c11.intoArray(sb, sPad + j0 + L);
        c20.intoArray(sb, 2 * sPad + j0);
        c21.intoArray(sb, 2 * sPad + j0 + L);
        c30.intoArray(sb, 3 * sPad + j0);
        c31.intoArray(sb, 3 * sPad + j0 + L);
    }

    /**
     * Softmax numerators of {@code sb[o .. o+n)} after adding {@code add[0 .. n)} (when not null), in place, n a
     * multiple of the vector length; returns 1 / their sum.
     */
    private static float softmaxRow(float[] sb, int o, int n, float[] add) {
        FloatVector vmax = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        for (int j = 0; j < n; j += L) {
            FloatVector x = FloatVector.fromArray(S, sb, o + j);
            if (add != null) {
                x = x.add(FloatVector.fromArray(S, add, j));
            }
            vmax = vmax.max(x);
        }
        FloatVector max = FloatVector.broadcast(S, vmax.reduceLanes(VectorOperators.MAX));
        FloatVector vsum = FloatVector.zero(S);
        for (int j = 0; j < n; j += L) {
            FloatVector x = FloatVector.fromArray(S, sb, o + j);
            if (add != null) {
                x = x.add(FloatVector.fromArray(S, add, j));
            }
            FloatVector e = VectorMath.expNonPositive(x.sub(max));
            e.intoArray(sb, o + j);
            vsum = vsum.add(e);
        }
        return 1f / VectorMath.sum(vsum);
    }

    /** Output columns {@code [e0, e0 + cols)} of the tile's rows: {@code (P · V) · inv}, stored row by row. */
    private static void values8(float[] sb, int sPad, float[] v, int b0, int b1, int s, float[] inv, int rows,
            int cols, float[] out, int o0, int oStride) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
                c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00,
                c70 = c00, c71 = c00;
        for (int j = 0; j < s; j++) {
            FloatVector w0 = FloatVector.fromArray(S, v, b0 + j * NR);
            FloatVector w1 = FloatVector.fromArray(S, v, b1 + j * NR);
            FloatVector x = FloatVector.broadcast(S, sb[j]);
            c00 = w0.fma(x, c00);
            c01 = w1.fma(x, c01);
            x = FloatVector.broadcast(S, sb[sPad + j]);
            c10 = w0.fma(x, c10);
            c11 = w1.fma(x, c11);
            x = FloatVector.broadcast(S, sb[2 * sPad + j]);
            c20 = w0.fma(x, c20);
            c21 = w1.fma(x, c21);
            x = FloatVector.broadcast(S, sb[3 * sPad + j]);
            c30 = w0.fma(x, c30);
            c31 = w1.fma(x, c31);
            x = FloatVector.broadcast(S, sb[4 * sPad + j]);
            c40 = w0.fma(x, c40);
            c41 = w1.fma(x, c41);
            x = FloatVector.broadcast(S, sb[5 * sPad + j]);
            c50 = w0.fma(x, c50);
            c51 = w1.fma(x, c51);
            x = FloatVector.broadcast(S, sb[6 * sPad + j]);
            c60 = w0.fma(x, c60);
            c61 = w1.fma(x, c61);
            x = FloatVector.broadcast(S, sb[7 * sPad + j]);
            c70 = w0.fma(x, c70);
            c71 = w1.fma(x, c71);
        }
        VectorMask<Float> m0 = S.indexInRange(0, cols), m1 = S.indexInRange(L, cols);
        c00.mul(inv[0]).intoArray(out, o0, m0);
        c01.mul(inv[0]).intoArray(out, o0 + L, m1);
        if (rows > 1) {
            c10.mul(inv[1]).intoArray(out, o0 + oStride, m0);
            c11.mul(inv[1]).intoArray(out, o0 + oStride + L, m1);
        }
        if (rows > 2) {
            c20.mul(inv[2]).intoArray(out, o0 + 2 * oStride, m0);
            c21.mul(inv[2]).intoArray(out, o0 + 2 * oStride + L, m1);
        }
        if (rows > 3) {
            c30.mul(inv[3]).intoArray(out, o0 + 3 * oStride, m0);
            c31.mul(inv[3]).intoArray(out, o0 + 3 * oStride + L, m1);
        }
        if (rows > 4) {
            c40.mul(inv[4]).intoArray(out, o0 + 4 * oStride, m0);
            c41.mul(inv[4]).intoArray(out, o0 + 4 * oStride + L, m1);
        }
        if (rows > 5) {
            c50.mul(inv[5]).intoArray(out, o0 + 5 * oStride, m0);
            c51.mul(inv[5]).intoArray(out, o0 + 5 * oStride + L, m1);
        }
        if (rows > 6) {
            c60.mul(inv[6]).intoArray(out, o0 + 6 * oStride, m0);
            c61.mul(inv[6]).intoArray(out, o0 + 6 * oStride + L, m1);
        }
        if (rows > 7) {
            c70.mul(inv[7]).intoArray(out, o0 + 7 * oStride, m0);
            c71.mul(inv[7]).intoArray(out, o0 + 7 * oStride + L, m1);
        }
    }

    /** {@link #values8} for 4-row tiles. */
    private static void values4(float[] sb, int sPad, float[] v, int b0, int b1, int s, float[] inv, int rows,
            int cols, float[] out, int o0, int oStride) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
                c30 = c00, c31 = c00;
        for (int j = 0; j < s; j++) {
            FloatVector w0 = FloatVector.fromArray(S, v, b0 + j * NR);
            FloatVector w1 = FloatVector.fromArray(S, v, b1 + j * NR);
            FloatVector x = FloatVector.broadcast(S, sb[j]);
            c00 = w0.fma(x, c00);
            c01 = w1.fma(x, c01);
            x = FloatVector.broadcast(S, sb[sPad + j]);
            c10 = w0.fma(x, c10);
            c11 = w1.fma(x, c11);
            x = FloatVector.broadcast(S, sb[2 * sPad + j]);
            c20 = w0.fma(x, c20);
            c21 = w1.fma(x, c21);
            x = FloatVector.broadcast(S, sb[3 * sPad + j]);
            c30 = w0.fma(x, c30);
            c31 = w1.fma(x, c31);
        }
        VectorMask<Float> m0 = S.indexInRange(0, cols), m1 = S.indexInRange(L, cols);
        c00.mul(inv[0]).intoArray(out, o0, m0);
        c01.mul(inv[0]).intoArray(out, o0 + L, m1);
        if (rows > 1) {
            c10.mul(inv[1]).intoArray(out, o0 + oStride, m0);
            c11.mul(inv[1]).intoArray(out, o0 + oStride + L, m1);
        }
        if (rows > 2) {
            c20.mul(inv[2]).intoArray(out, o0 + 2 * oStride, m0);
            c21.mul(inv[2]).intoArray(out, o0 + 2 * oStride + L, m1);
        }
        if (rows > 3) {
            c30.mul(inv[3]).intoArray(out, o0 + 3 * oStride, m0);
            c31.mul(inv[3]).intoArray(out, o0 + 3 * oStride + L, m1);
        }
    }
}
