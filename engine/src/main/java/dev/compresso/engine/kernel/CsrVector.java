package dev.compresso.engine.kernel;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

import dev.compresso.engine.weights.CsrMatrix;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API CSR sparse × dense: {@code C = act(A · Wᵀ + bias)} with {@code W} in {@link CsrMatrix} form.
 *
 * <p>Several rows ({@code m ≥ 4}): {@code A} is transposed once per call into heap blocks {@code Aᵀ[K][bw]} of
 * {@code bw} rows ({@code bw} = 4 vectors, or 1 vector for the last few rows) so that each non-zero
 * {@code (c, v)} of channel {@code j} is a broadcast-FMA over contiguous rows:
 * {@code acc[0..bw) += v · Aᵀ[c][0..bw)}. Two accumulator sets alternate between even and odd non-zeros to
 * hide the FMA latency. Column indices and values of a chunk of channels are widened to heap {@code int[]}
 * / {@code float[]} once and reused over all row blocks; int8 values stay unscaled there and the row scale
 * is applied once per output in the epilogue (bias, activation).
 *
 * <p>One row at a time ({@code m < 4}): a sparse dot product per channel over a heap copy of the activation
 * row, with the indices and values of a window of non-zeros widened to heap arrays first.
 */
final class CsrVector {
    private CsrVector() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int VL = S.length();
    /** Rows of a full A block: four vectors, so each non-zero feeds four independent FMAs. */
    private static final int W4 = 4 * VL;
    /** Below this many rows, the per-row sparse dot product beats padding a block of rows. */
    static final int GEMV_ROWS = 4;
    /** Channels whose non-zeros are widened together (their block results stay in a small tile). */
    private static final int CHANNELS = 32;
    /** Floats of transposed A kept at once (1 MiB), bounding the scratch memory for large m·K. */
    private static final int AT_FLOATS = 1 << 18;
    /** Non-zeros widened at once by the row-at-a-time path. */
    private static final int WINDOW = 2048;

    /** Per-thread scratch, grown on demand and reused between calls to avoid garbage in the hot path. */
    static final class Scratch {
        float[] at = new float[0];
        float[] ct = new float[0];
        float[] vals = new float[0];
        int[] cols = new int[0];
        float[] x = new float[0];
        float[] scale = new float[CHANNELS];
        float[] bias = new float[CHANNELS];

        float[] at(int n) {
            return at.length >= n ? at : (at = new float[n]);
        }

        float[] ct(int n) {
            return ct.length >= n ? ct : (ct = new float[n]);
        }

        float[] x(int n) {
            return x.length >= n ? x : (x = new float[n]);
        }

        void nnz(int n) {
            if (cols.length < n) {
                cols = new int[n];
                vals = new float[n];
            }
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    static Scratch scratch() {
        return SCRATCH.get();
    }

    static void csr(MemorySegment a, CsrMatrix w, MemorySegment bias, Activation act, MemorySegment c,
            int m0, int m1, int n0, int n1) {
        if (m1 <= m0 || n1 <= n0) {
            return;
        }
        Scratch s = scratch();
        // The row-block path keeps W4 transposed rows of A per block in an int-indexed heap array.
        if (m1 - m0 < GEMV_ROWS || (long) W4 * w.inFeatures() > Integer.MAX_VALUE / 2) {
            for (int i = m0; i < m1; i++) {
                gemvRow(a, w, bias, act, c, i, n0, n1, s);
            }
        } else {
            blocks(a, w, bias, act, c, m0, m1, n0, n1, s);
        }
    }

    /**
     * Widens the column indices and values of non-zeros {@code [p0, p1)} into {@code s.cols[0..)} and
     * {@code s.vals[0..)}; int8 values are left unscaled.
     */
    static void widen(CsrMatrix w, int p0, int p1, Scratch s) {
        int len = p1 - p0;
        s.nnz(len);
        if (len == 0) {
            return;
        }
        MemorySegment.copy(w.colIdx(), JAVA_INT_UNALIGNED, (long) p0 * 4, s.cols, 0, len);
        MemorySegment v = w.values();
        float[] out = s.vals;
        switch (w.valueType()) {
            case FP32 -> MemorySegment.copy(v, JAVA_FLOAT_UNALIGNED, (long) p0 * 4, out, 0, len);
            case FP16 -> {
                // A plain loop of float16ToFloat is auto-vectorized by C2 (F16C on x86).
                for (int i = 0; i < len; i++) {
                    out[i] = Float.float16ToFloat(v.getAtIndex(JAVA_SHORT_UNALIGNED, (long) p0 + i));
                }
            }
            case INT8 -> {
                for (int i = 0; i < len; i++) {
                    out[i] = v.get(JAVA_BYTE, (long) p0 + i);
                }
            }
        }
    }

    /** The factor applied to channel {@code j}'s accumulator: its int8 row scale, else 1. */
    static float outScale(CsrMatrix w, int j) {
        return w.rowScales() == null ? 1f : w.rowScales().getAtIndex(JAVA_FLOAT_UNALIGNED, j);
    }

    // ---------------------------------------------------------------- one row at a time

    private static void gemvRow(MemorySegment a, CsrMatrix w, MemorySegment bias, Activation act,
            MemorySegment c, int i, int n0, int n1, Scratch s) {
        int k = w.inFeatures(), n = w.outFeatures();
        float[] x = s.x(k);
        MemorySegment.copy(a, JAVA_FLOAT_UNALIGNED, (long) i * k * 4, x, 0, k);
        MemorySegment rp = w.rowPtr();
        int end = rp.getAtIndex(JAVA_INT_UNALIGNED, n1);
        int ws = 0, we = 0; // the widened window holds non-zeros [ws, we)
        int p = rp.getAtIndex(JAVA_INT_UNALIGNED, n0);
        for (int j = n0; j < n1; j++) {
            int e = rp.getAtIndex(JAVA_INT_UNALIGNED, j + 1);
            float acc = 0f;
            while (p < e) {
                if (p >= we) {
                    ws = p;
                    we = Math.min(end, p + WINDOW);
                    widen(w, ws, we, s);
                }
                int t = Math.min(e, we);
                acc += dot(x, s.cols, s.vals, p - ws, t - ws);
                p = t;
            }
            acc *= outScale(w, j);
            if (bias != null) {
                acc += bias.getAtIndex(JAVA_FLOAT_UNALIGNED, j);
            }
            c.setAtIndex(JAVA_FLOAT_UNALIGNED, (long) i * n + j, act.apply(acc));
        }
    }

    /** {@code Σ x[cols[p]] · vals[p]} over {@code p ∈ [lo, hi)}: scalar with four accumulators. */
    static float dot(float[] x, int[] cols, float[] vals, int lo, int hi) {
        float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
        int p = lo;
        for (; p + 3 < hi; p += 4) {
            s0 += x[cols[p]] * vals[p];
            s1 += x[cols[p + 1]] * vals[p + 1];
            s2 += x[cols[p + 2]] * vals[p + 2];
            s3 += x[cols[p + 3]] * vals[p + 3];
        }
        for (; p < hi; p++) {
            s0 += x[cols[p]] * vals[p];
        }
        return (s0 + s1) + (s2 + s3);
    }

    /** Vector gather variant of {@link #dot}, kept for measurement. */
    static float dotGather(float[] x, int[] cols, float[] vals, int lo, int hi) {
        FloatVector a0 = FloatVector.zero(S), a1 = FloatVector.zero(S);
        int p = lo;
        for (; p + 2 * VL <= hi; p += 2 * VL) {
            a0 = FloatVector.fromArray(S, x, 0, cols, p).fma(FloatVector.fromArray(S, vals, p), a0);
            a1 = FloatVector.fromArray(S, x, 0, cols, p + VL).fma(FloatVector.fromArray(S, vals, p + VL), a1);
        }
        float r = a0.add(a1).reduceLanes(VectorOperators.ADD);
        for (; p < hi; p++) {
            r += x[cols[p]] * vals[p];
        }
        return r;
    }

    // ---------------------------------------------------------------- blocks of rows

    /** Rows of A transposed at once: a multiple of {@link #W4}, at least one block, about 1 MiB. */
    static int superRows(int k) {
        int r = AT_FLOATS / Math.max(1, k) / W4 * W4;
        return Math.max(W4, Math.min(8 * W4, r));
    }

    /**
     * Transposes rows {@code [r0, r0 + rows)} of {@code A} into {@code at[off + kk·bw + r]}, zero-padding rows
     * {@code rows..bw-1}.
     */
    static void pack(MemorySegment a, int k, int r0, int rows, int bw, float[] at, int off) {
        for (int r = 0; r < bw; r++) {
            if (r < rows) {
                long src = (long) (r0 + r) * k;
                for (int kk = 0; kk < k; kk++) {
                    at[off + kk * bw + r] = a.getAtIndex(JAVA_FLOAT_UNALIGNED, src + kk);
                }
            } else {
                for (int kk = 0; kk < k; kk++) {
                    at[off + kk * bw + r] = 0f;
                }
            }
        }
    }

    private static void blocks(MemorySegment a, CsrMatrix w, MemorySegment bias, Activation act,
            MemorySegment c, int m0, int m1, int n0, int n1, Scratch s) {
        int k = w.inFeatures();
        MemorySegment rp = w.rowPtr();
        int sr = superRows(k);
        float[] at = s.at(sr * k);
        float[] ct = s.ct(CHANNELS * W4);
        for (int r0 = m0; r0 < m1; r0 += sr) {
            int rows = Math.min(sr, m1 - r0);
            // Row blocks of this super-block: full W4 blocks, then VL-wide blocks for the rest.
            int full = rows / W4;
            int rest = rows - full * W4;
            int tails = (rest + VL - 1) / VL;
            for (int b = 0; b < full; b++) {
                pack(a, k, r0 + b * W4, W4, W4, at, b * W4 * k);
            }
            for (int b = 0; b < tails; b++) {
                int rr = full * W4 + b * VL;
                pack(a, k, r0 + rr, Math.min(VL, rows - rr), VL, at, rr * k);
            }
            for (int j0 = n0; j0 < n1; j0 += CHANNELS) {
                int j1 = Math.min(n1, j0 + CHANNELS);
                int p0 = rp.getAtIndex(JAVA_INT_UNALIGNED, j0);
                widen(w, p0, rp.getAtIndex(JAVA_INT_UNALIGNED, j1), s);
                for (int j = j0; j < j1; j++) {
                    s.scale[j - j0] = outScale(w, j);
                    s.bias[j - j0] = bias == null ? 0f : bias.getAtIndex(JAVA_FLOAT_UNALIGNED, j);
                }
                for (int b = 0; b < full; b++) {
                    int off = b * W4 * k;
                    for (int j = j0; j < j1; j++) {
                        channel4(at, off, s.cols, s.vals, rp.getAtIndex(JAVA_INT_UNALIGNED, j) - p0,
                                rp.getAtIndex(JAVA_INT_UNALIGNED, j + 1) - p0, ct, (j - j0) * W4);
                    }
                    store(ct, W4, c, w.outFeatures(), r0 + b * W4, W4, j0, j1, s, act);
                }
                for (int b = 0; b < tails; b++) {
                    int rr = full * W4 + b * VL;
                    int off = rr * k;
                    for (int j = j0; j < j1; j++) {
                        channel1(at, off, s.cols, s.vals, rp.getAtIndex(JAVA_INT_UNALIGNED, j) - p0,
                                rp.getAtIndex(JAVA_INT_UNALIGNED, j + 1) - p0, ct, (j - j0) * VL);
                    }
                    store(ct, VL, c, w.outFeatures(), r0 + rr, Math.min(VL, rows - rr), j0, j1, s, act);
                }
            }
        }
    }

    /** Writes the tile {@code ct[(j-j0)·bw + r]} to {@code C[r0 + r][j]} through the epilogue. */
    static void store(float[] ct, int bw, MemorySegment c, int n, int r0, int rows, int j0, int j1, Scratch s,
            Activation act) {
        for (int r = 0; r < rows; r++) {
            long dst = (long) (r0 + r) * n;
            for (int j = j0; j < j1; j++) {
                int jj = j - j0;
                c.setAtIndex(JAVA_FLOAT_UNALIGNED, dst + j, act.apply(ct[jj * bw + r] * s.scale[jj] + s.bias[jj]));
            }
        }
    }

    /** One channel over a {@link #W4}-row block: {@code ct[co..co+W4) = Σ vals[p] · at[off + cols[p]·W4 ..]}. */
    private static void channel4(float[] at, int off, int[] cols, float[] vals, int p, int e, float[] ct, int co) {
        FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
        FloatVector b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        for (; p + 1 < e; p += 2) {
            int o = off + cols[p] * W4;
            FloatVector v = FloatVector.broadcast(S, vals[p]);
            a0 = FloatVector.fromArray(S, at, o).fma(v, a0);
            a1 = FloatVector.fromArray(S, at, o + VL).fma(v, a1);
            a2 = FloatVector.fromArray(S, at, o + 2 * VL).fma(v, a2);
            a3 = FloatVector.fromArray(S, at, o + 3 * VL).fma(v, a3);
            int q = off + cols[p + 1] * W4;
            FloatVector u = FloatVector.broadcast(S, vals[p + 1]);
            b0 = FloatVector.fromArray(S, at, q).fma(u, b0);
            b1 = FloatVector.fromArray(S, at, q + VL).fma(u, b1);
            b2 = FloatVector.fromArray(S, at, q + 2 * VL).fma(u, b2);
            b3 = FloatVector.fromArray(S, at, q + 3 * VL).fma(u, b3);
        }
        if (p < e) {
            int o = off + cols[p] * W4;
            FloatVector v = FloatVector.broadcast(S, vals[p]);
            a0 = FloatVector.fromArray(S, at, o).fma(v, a0);
            a1 = FloatVector.fromArray(S, at, o + VL).fma(v, a1);
            a2 = FloatVector.fromArray(S, at, o + 2 * VL).fma(v, a2);
            a3 = FloatVector.fromArray(S, at, o + 3 * VL).fma(v, a3);
        }
        a0.add(b0).intoArray(ct, co);
        a1.add(b1).intoArray(ct, co + VL);
        a2.add(b2).intoArray(ct, co + 2 * VL);
        a3.add(b3).intoArray(ct, co + 3 * VL);
    }

    /** One channel over a {@link #VL}-row block, four accumulators in rotation. */
    private static void channel1(float[] at, int off, int[] cols, float[] vals, int p, int e, float[] ct, int co) {
        FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
        for (; p + 3 < e; p += 4) {
            a0 = FloatVector.fromArray(S, at, off + cols[p] * VL).fma(FloatVector.broadcast(S, vals[p]), a0);
            a1 = FloatVector.fromArray(S, at, off + cols[p + 1] * VL).fma(FloatVector.broadcast(S, vals[p + 1]), a1);
            a2 = FloatVector.fromArray(S, at, off + cols[p + 2] * VL).fma(FloatVector.broadcast(S, vals[p + 2]), a2);
            a3 = FloatVector.fromArray(S, at, off + cols[p + 3] * VL).fma(FloatVector.broadcast(S, vals[p + 3]), a3);
        }
        for (; p < e; p++) {
            a0 = FloatVector.fromArray(S, at, off + cols[p] * VL).fma(FloatVector.broadcast(S, vals[p]), a0);
        }
        a0.add(a1).add(a2.add(a3)).intoArray(ct, co);
    }
}
