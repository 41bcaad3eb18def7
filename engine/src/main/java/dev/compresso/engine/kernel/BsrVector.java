package dev.compresso.engine.kernel;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;

import dev.compresso.engine.weights.BsrMatrix;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API block-sparse × dense for {@link BsrMatrix} (4×1 blocks along the output channels).
 *
 * <p>Several rows: as {@link CsrVector}, {@code A} is transposed into aligned blocks {@code Aᵀ[K][bw]}, here of
 * {@code bw} = 4 vectors (2 on AVX2); each block loads its column of activations once and feeds the four
 * channels of the block with it: 16 FMAs per 4 loads and 4 broadcasts (0.56 loads per FMA, as the dense
 * kernel), where CSR needs 1.5.
 *
 * <p>The row-block path ({@link #rowBlocks}) serves {@link Bsr16Vector} too: a 16×1 block row runs as four 4×1
 * block rows with the same block columns.
 *
 * <p>One row: each block is one 128-bit FMA, {@code acc[0..4) += x[col] · block[0..4)}, with four accumulators
 * in rotation to hide the FMA latency.
 */
final class BsrVector {
    private BsrVector() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    /** Four lanes: one block. 128-bit vectors exist on every platform with Vector API intrinsics. */
    private static final VectorSpecies<Float> S4 = FloatVector.SPECIES_128;
    private static final int VL = S.length();
    /**
     * Rows of a full A block: 4 vectors (16 accumulators: 4 channels × 4 row vectors) where the register file
     * has 32 vector registers; 2 vectors on AVX2 (16 registers; 4 vectors there would spill).
     */
    private static final int NV = S.vectorBitSize() == 256 || CsrVector.NV == 2 ? 2 : 4;
    static final int W2 = NV * VL;
    private static final int R = BsrMatrix.BLOCK_ROWS;
    /** Blocks widened at once by the one-row path. */
    private static final int WINDOW = 512;
    private static final int AT_FLOATS = 1 << 18;
    private static final java.nio.ByteOrder LE = java.nio.ByteOrder.LITTLE_ENDIAN;

    static void bsr(MemorySegment a, BsrMatrix w, MemorySegment bias, Activation act, MemorySegment c,
            int m0, int m1, int n0, int n1) {
        if (m1 <= m0 || n1 <= n0) {
            return;
        }
        CsrVector.Scratch s = CsrVector.scratch();
        if (m1 - m0 < CsrVector.GEMV_ROWS || !rowBlocksFit(w.inFeatures())) {
            for (int i = m0; i < m1; i++) {
                gemvRow(a, w, bias, act, c, i, n0, n1, s);
            }
        } else {
            rowBlocks(a, w.inFeatures(), w.outFeatures(), null, (j0, j1, t) -> {
                int g0 = j0 / R, g1 = (j1 + R - 1) / R, p0 = w.blockStart(g0);
                widen(w, p0, w.blockStart(g1), t);
                int[] ptr = t.ptr(g1 - g0 + 1);
                for (int g = g0; g <= g1; g++) {
                    ptr[g - g0] = w.blockStart(g) - p0;
                }
            }, bias, act, c, m0, m1, n0, n1, s);
        }
    }

    /** Copies the columns and values of blocks {@code [i0, i1)} into {@code s.cols} and {@code s.vals}. */
    private static void widen(BsrMatrix w, int i0, int i1, CsrVector.Scratch s) {
        int len = i1 - i0;
        s.nnz(len * R);
        if (len > 0) {
            MemorySegment.copy(w.blockCol(), JAVA_INT_UNALIGNED, (long) i0 * 4, s.cols, 0, len);
            MemorySegment.copy(w.values(), JAVA_FLOAT_UNALIGNED, (long) i0 * R * 4, s.vals, 0, len * R);
        }
    }

    private static void gemvRow(MemorySegment a, BsrMatrix w, MemorySegment bias, Activation act,
            MemorySegment c, int i, int n0, int n1, CsrVector.Scratch s) {
        int k = w.inFeatures(), n = w.outFeatures();
        float[] x = s.x(k);
        float[] out = s.out(n1 - n0);
        MemorySegment.copy(a, JAVA_FLOAT_UNALIGNED, (long) i * k * 4, x, 0, k);
        int b0 = n0 / R, b1 = (n1 + R - 1) / R;
        int end = w.blockStart(b1);
        int ws = 0, we = 0; // the copied window holds blocks [ws, we)
        int p = w.blockStart(b0);
        float[] lanes = s.scale; // four floats of scratch for the block row's result
        for (int b = b0; b < b1; b++) {
            int e = w.blockStart(b + 1);
            FloatVector acc0 = FloatVector.zero(S4), acc1 = acc0, acc2 = acc0, acc3 = acc0;
            while (p < e) {
                if (p >= we) {
                    ws = p;
                    we = Math.min(end, p + WINDOW);
                    widen(w, ws, we, s);
                }
                int t = Math.min(e, we) - ws;
                int q = p - ws;
                int[] cols = s.cols;
                float[] vals = s.vals;
                // Four accumulators: the FMA latency, not the loads, bound two of them.
                for (; q + 3 < t; q += 4) {
                    acc0 = FloatVector.fromArray(S4, vals, q * R).fma(FloatVector.broadcast(S4, x[cols[q]]), acc0);
                    acc1 = FloatVector.fromArray(S4, vals, q * R + R).fma(FloatVector.broadcast(S4, x[cols[q + 1]]), acc1);
                    acc2 = FloatVector.fromArray(S4, vals, q * R + 2 * R).fma(FloatVector.broadcast(S4, x[cols[q + 2]]), acc2);
                    acc3 = FloatVector.fromArray(S4, vals, q * R + 3 * R).fma(FloatVector.broadcast(S4, x[cols[q + 3]]), acc3);
                }
                for (; q < t; q++) {
                    acc0 = FloatVector.fromArray(S4, vals, q * R).fma(FloatVector.broadcast(S4, x[cols[q]]), acc0);
                }
                p = t + ws;
            }
            acc0 = acc0.add(acc2);
            acc1 = acc1.add(acc3);
            acc0.add(acc1).intoArray(lanes, 0);
            for (int r = 0; r < R && b * R + r < n1; r++) {
                int j = b * R + r;
                out[j - n0] = bias == null ? lanes[r] : lanes[r] + bias.getAtIndex(JAVA_FLOAT_UNALIGNED, j);
            }
        }
        CsrVector.activate(out, n1 - n0, act);
        MemorySegment.copy(out, 0, c, JAVA_FLOAT_UNALIGNED, ((long) i * n + n0) * 4, n1 - n0);
    }

    /**
     * The blocks of output channels {@code [j0, j1)} ({@code j0} a multiple of 16, at most 64 channels) as 4×1
     * block rows, widened for {@link #rowBlocks}: block row {@code i} (channels {@code j0 + 4i .. j0 + 4i + 3})
     * has blocks {@code [s.ptr[i], s.ptr[i + 1])}, block {@code q} with column {@code s.cols[q]} and the fp32
     * values (int8 unscaled) {@code s.vals[4q .. 4q + 3]}.
     */
    @FunctionalInterface
    interface Chunk {
        void widen(int j0, int j1, CsrVector.Scratch s);
    }

    /**
     * The row-block path of the 4×1 and 16×1 block formats, {@code C = act(A·Wᵀ·diag(scale) + bias)}: A is
     * transposed into aligned {@code Aᵀ[K][W2]} blocks once, and each 4×1 block row of a 64-channel chunk runs its
     * block list ({@link #block4}: 4 Aᵀ loads and 4 broadcasts feed 16 FMAs). {@link Bsr16Vector} presents a
     * 16-channel block row as four 4×1 block rows with the same columns.
     *
     * @param rowScales per-channel factors of the accumulators (int8 row scales), or {@code null}
     */
    static void rowBlocks(MemorySegment a, int k, int n, MemorySegment rowScales, Chunk chunk, MemorySegment bias,
            Activation act, MemorySegment c, int m0, int m1, int n0, int n1, CsrVector.Scratch s) {
        int sr = Math.max(W2, Math.min(16 * W2, AT_FLOATS / Math.max(1, k) / W2 * W2));
        MemorySegment at = s.atSeg(sr * k);
        float[] ct = s.ct(CsrVector.CHANNELS * W2);
        for (int r0 = m0; r0 < m1; r0 += sr) {
            int rows = Math.min(sr, m1 - r0);
            int full = rows / W2;
            int rest = rows - full * W2;
            int tails = (rest + VL - 1) / VL;
            for (int b = 0; b < full; b++) {
                CsrVector.pack(a, k, r0 + b * W2, W2, W2, at, (long) b * W2 * k, s);
            }
            for (int b = 0; b < tails; b++) {
                int rr = full * W2 + b * VL;
                CsrVector.pack(a, k, r0 + rr, Math.min(VL, rows - rr), VL, at, (long) rr * k, s);
            }
            for (int j0 = n0; j0 < n1; j0 += CsrVector.CHANNELS) {
                int j1 = Math.min(n1, j0 + CsrVector.CHANNELS), nb = (j1 - j0 + R - 1) / R;
                chunk.widen(j0, j1, s);
                for (int j = j0; j < j1; j++) {
                    s.scale[j - j0] = rowScales == null ? 1f : rowScales.getAtIndex(JAVA_FLOAT_UNALIGNED, j);
                    s.bias[j - j0] = bias == null ? 0f : bias.getAtIndex(JAVA_FLOAT_UNALIGNED, j);
                }
                int[] ptr = s.ptr;
                for (int rb = 0; rb < full; rb++) {
                    long off = 4L * rb * W2 * k;
                    for (int g = 0; g < nb; g++) {
                        if (NV == 4) {
                            block4(at, off, s.cols, s.vals, ptr[g], ptr[g + 1], ct, g * R * W2);
                        } else {
                            block2(at, off, s.cols, s.vals, ptr[g], ptr[g + 1], ct, g * R * W2);
                        }
                    }
                    CsrVector.store(ct, W2, c, n, r0 + rb * W2, W2, j0, j1, s, act);
                }
                for (int tb = 0; tb < tails; tb++) {
                    int rr = full * W2 + tb * VL;
                    long off = 4L * rr * k;
                    for (int g = 0; g < nb; g++) {
                        block1(at, off, s.cols, s.vals, ptr[g], ptr[g + 1], ct, g * R * VL);
                    }
                    CsrVector.store(ct, VL, c, n, r0 + rr, Math.min(VL, rows - rr), j0, j1, s, act);
                }
            }
        }
    }

    /** Whether {@link #rowBlocks} can take K inputs (its Aᵀ scratch is indexed by int). */
    static boolean rowBlocksFit(int k) {
        return (long) W2 * k <= Integer.MAX_VALUE / 2;
    }

    /** One block row over a 4-vector row block: channel {@code r}'s rows go to {@code ct[co + r·W2 ..]}. */
    private static void block4(MemorySegment at, long off, int[] cols, float[] vals, int p, int e, float[] ct, int co) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00;
        FloatVector c13 = c00, c20 = c00, c21 = c00, c22 = c00, c23 = c00, c30 = c00, c31 = c00, c32 = c00, c33 = c00;
        for (; p < e; p++) {
            long o = off + cols[p] * (4L * W2);
            FloatVector x0 = FloatVector.fromMemorySegment(S, at, o, LE);
            FloatVector x1 = FloatVector.fromMemorySegment(S, at, o + 4L * VL, LE);
            FloatVector x2 = FloatVector.fromMemorySegment(S, at, o + 8L * VL, LE);
            FloatVector x3 = FloatVector.fromMemorySegment(S, at, o + 12L * VL, LE);
            int v = p * R;
            FloatVector w = FloatVector.broadcast(S, vals[v]);
            c00 = x0.fma(w, c00);
            c01 = x1.fma(w, c01);
            c02 = x2.fma(w, c02);
            c03 = x3.fma(w, c03);
            w = FloatVector.broadcast(S, vals[v + 1]);
            c10 = x0.fma(w, c10);
            c11 = x1.fma(w, c11);
            c12 = x2.fma(w, c12);
            c13 = x3.fma(w, c13);
            w = FloatVector.broadcast(S, vals[v + 2]);
            c20 = x0.fma(w, c20);
            c21 = x1.fma(w, c21);
            c22 = x2.fma(w, c22);
            c23 = x3.fma(w, c23);
            w = FloatVector.broadcast(S, vals[v + 3]);
            c30 = x0.fma(w, c30);
            c31 = x1.fma(w, c31);
            c32 = x2.fma(w, c32);
            c33 = x3.fma(w, c33);
        }
        c00.intoArray(ct, co);
        c01.intoArray(ct, co + VL);
        c02.intoArray(ct, co + 2 * VL);
        c03.intoArray(ct, co + 3 * VL);
        c10.intoArray(ct, co + W2);
        c11.intoArray(ct, co + W2 + VL);
        c12.intoArray(ct, co + W2 + 2 * VL);
        c13.intoArray(ct, co + W2 + 3 * VL);
        c20.intoArray(ct, co + 2 * W2);
        c21.intoArray(ct, co + 2 * W2 + VL);
        c22.intoArray(ct, co + 2 * W2 + 2 * VL);
        c23.intoArray(ct, co + 2 * W2 + 3 * VL);
        c30.intoArray(ct, co + 3 * W2);
        c31.intoArray(ct, co + 3 * W2 + VL);
        c32.intoArray(ct, co + 3 * W2 + 2 * VL);
        c33.intoArray(ct, co + 3 * W2 + 3 * VL);
    }

    /** {@link #block4} over a {@link #W2}-row block of two vectors. */
    private static void block2(MemorySegment at, long off, int[] cols, float[] vals, int p, int e, float[] ct, int co) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00;
        FloatVector c20 = c00, c21 = c00, c30 = c00, c31 = c00;
        for (; p < e; p++) {
            long o = off + cols[p] * (4L * W2);
            FloatVector x0 = FloatVector.fromMemorySegment(S, at, o, LE);
            FloatVector x1 = FloatVector.fromMemorySegment(S, at, o + 4L * VL, LE);
            int v = p * R;
            FloatVector w0 = FloatVector.broadcast(S, vals[v]);
            c00 = x0.fma(w0, c00);
            c01 = x1.fma(w0, c01);
            FloatVector w1 = FloatVector.broadcast(S, vals[v + 1]);
            c10 = x0.fma(w1, c10);
            c11 = x1.fma(w1, c11);
            FloatVector w2 = FloatVector.broadcast(S, vals[v + 2]);
            c20 = x0.fma(w2, c20);
            c21 = x1.fma(w2, c21);
            FloatVector w3 = FloatVector.broadcast(S, vals[v + 3]);
            c30 = x0.fma(w3, c30);
            c31 = x1.fma(w3, c31);
        }
        c00.intoArray(ct, co);
        c01.intoArray(ct, co + VL);
        c10.intoArray(ct, co + W2);
        c11.intoArray(ct, co + W2 + VL);
        c20.intoArray(ct, co + 2 * W2);
        c21.intoArray(ct, co + 2 * W2 + VL);
        c30.intoArray(ct, co + 3 * W2);
        c31.intoArray(ct, co + 3 * W2 + VL);
    }

    /** {@link #block4} over a {@link #VL}-row block: channel {@code r}'s rows go to {@code ct[co + r·VL ..]}. */
    private static void block1(MemorySegment at, long off, int[] cols, float[] vals, int p, int e, float[] ct, int co) {
        FloatVector c0 = FloatVector.zero(S), c1 = c0, c2 = c0, c3 = c0;
        for (; p < e; p++) {
            FloatVector x = FloatVector.fromMemorySegment(S, at, off + cols[p] * (4L * VL), LE);
            int v = p * R;
            c0 = x.fma(FloatVector.broadcast(S, vals[v]), c0);
            c1 = x.fma(FloatVector.broadcast(S, vals[v + 1]), c1);
            c2 = x.fma(FloatVector.broadcast(S, vals[v + 2]), c2);
            c3 = x.fma(FloatVector.broadcast(S, vals[v + 3]), c3);
        }
        c0.intoArray(ct, co);
        c1.intoArray(ct, co + VL);
        c2.intoArray(ct, co + 2 * VL);
        c3.intoArray(ct, co + 3 * VL);
    }
}
