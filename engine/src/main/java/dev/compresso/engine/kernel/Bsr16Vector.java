package dev.compresso.engine.kernel;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

import dev.compresso.engine.weights.Bsr16Matrix;
import dev.compresso.engine.weights.CsrMatrix;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API kernel for {@link Bsr16Matrix} (16×1 blocks along the output channels).
 *
 * <p>Lanes are channels, as in the dense kernel: a block is one vector of weights at 16 lanes (two at 8, four
 * at 4: the kernel then runs once per vector of the block), and a tile of {@link #MR} rows multiplies it by one
 * broadcast activation each. Per block: one vector load, {@code MR} broadcasts, one index, {@code MR} FMAs. C rows
 * are written directly: no transposed copy of A and no transpose of the result, which the 4×1 kernel
 * ({@link BsrVector}) pays on every call.
 *
 * <p>From {@link #rowsMin} rows on, the rows-as-lanes scheme of {@link BsrVector} takes the whole 64-row blocks
 * ({@link #rows}): there one broadcast of a weight feeds four FMAs over row vectors of {@code Aᵀ}, where the tile
 * above reloads the block's values from memory for every eight rows (dense/bsr16 at 128x1536x384 and 50%
 * sparsity: 1.5 against 1.2).
 */
final class Bsr16Vector {
    private Bsr16Vector() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final java.nio.ByteOrder LE = java.nio.ByteOrder.LITTLE_ENDIAN;
    private static final int VL = S.length();
    private static final int R = Bsr16Matrix.BLOCK_ROWS;
    /** Rows per register tile: 8 accumulators of one vector each. */
    static final int MR = 8;
    /** Block rows widened together (64 channels: {@link CsrVector.Scratch}'s bias and scale tiles). */
    private static final int CHUNK = CsrVector.CHANNELS / R;
    /** 128-bit vectors: four channels of a block, a group of the rows path. */
    private static final VectorSpecies<Float> S4 = FloatVector.SPECIES_128;
    /**
     * Fewest rows for the rows-as-lanes path ({@link #rows}), which then takes whole blocks of
     * {@link BsrVector#W2} rows (64 at 16 lanes) and leaves the rest to the channel-lane tiles: its partial
     * blocks (one Aᵀ load per four FMAs) ran slower than the tiles. Tuning switch {@code compresso.bsr16.rows},
     * default {@code W2}, read once; not final so that a benchmark can compare both paths in one process.
     */
    static int rowsMin = Math.max(1, Integer.getInteger("compresso.bsr16.rows", BsrVector.W2));
    /**
     * Highest block sparsity of the channel range at which the rows path runs when one Aᵀ block exceeds
     * {@value #AT_BLOCK_FLOATS} floats (K over 1024 at 64 rows): there the tiles won at 90% (dense/bsr16 at
     * 128x384x1536: 4.1 against 3.3 fp32, 3.75 against 3.4 int8), tied at 70% for fp32 (int8: 1.58 against 1.82)
     * and lost at 40–50%. Tuning switch {@code compresso.bsr16.rowsMaxSparsity}, read once, not final (as
     * {@link #rowsMin}).
     */
    static double rowsMaxSparsity = Double.parseDouble(System.getProperty("compresso.bsr16.rowsMaxSparsity", "0.8"));
    private static final int AT_BLOCK_FLOATS = 1 << 16;

    static void bsr16(MemorySegment a, Bsr16Matrix w, MemorySegment bias, Activation act, MemorySegment c,
            int m0, int m1, int n0, int n1) {
        if (m1 <= m0 || n1 <= n0) {
            return;
        }
        int mr = m1 - m0 >= rowsMin && rowsFit(w, n0, n1) ? (m1 - m0) / BsrVector.W2 * BsrVector.W2 : 0;
        if (mr > 0) {
            rows(a, w, bias, act, c, m0, m0 + mr, n0, n1);
        }
        if (m0 + mr < m1) {
            channels(a, w, bias, act, c, m0 + mr, m1, n0, n1);
        }
    }

    /** Whether the rows path suits channels {@code [n0, n1)}: K within its scratch, and see {@link #rowsMaxSparsity}. */
    private static boolean rowsFit(Bsr16Matrix w, int n0, int n1) {
        int k = w.inFeatures();
        if (!BsrVector.rowBlocksFit(k)) {
            return false;
        }
        if ((long) BsrVector.W2 * k <= AT_BLOCK_FLOATS) {
            return true;
        }
        int b0 = n0 / R, b1 = (n1 + R - 1) / R;
        double kept = (double) (w.blockStart(b1) - w.blockStart(b0)) / ((double) (b1 - b0) * k);
        return 1 - kept <= rowsMaxSparsity;
    }

    /**
     * Rows as lanes, the scheme of {@link BsrVector}: A transposed once into aligned {@code Aᵀ} blocks, and each
     * 16-channel block row run as four 4×1 block rows with its columns (per block and group of four channels:
     * four {@code Aᵀ} row-vector loads and four value broadcasts feed 16 FMAs). Values are widened to fp32 once
     * per 64-channel chunk (fp16 converted, int8 unscaled: the row scale multiplies the accumulators in the
     * epilogue).
     */
    static void rows(MemorySegment a, Bsr16Matrix w, MemorySegment bias, Activation act, MemorySegment c,
            int m0, int m1, int n0, int n1) {
        BsrVector.rowBlocks(a, w.inFeatures(), w.outFeatures(), w.rowScales(), (j0, j1, s) -> asBsr4(w, j0, j1, s),
                bias, act, c, m0, m1, n0, n1, CsrVector.scratch());
    }

    /**
     * {@link BsrVector.Chunk} for 16×1 blocks: block row {@code b} becomes the 4×1 block rows {@code 4b .. 4b+3},
     * each with a copy of its columns; values are widened block-major, then regrouped four channels at a time.
     */
    private static void asBsr4(Bsr16Matrix w, int j0, int j1, CsrVector.Scratch s) {
        int g0 = j0 / R, g1 = (j1 + R - 1) / R;
        int p0 = w.blockStart(g0), len = w.blockStart(g1) - p0, cnt = len * R;
        s.nnz(cnt);
        short[] h = s.shorts(len);
        MemorySegment.copy(w.blockCol(), JAVA_SHORT_UNALIGNED, p0 * 2L, h, 0, len);
        float[] t = s.out(cnt);
        long e0 = (long) p0 * R;
        switch (w.valueType()) {
            case FP32 -> MemorySegment.copy(w.values(), JAVA_FLOAT_UNALIGNED, e0 * 4, t, 0, cnt);
            case FP16 -> Fp16Vector.widen(w.values(), e0, t, 0, cnt);
            case INT8 -> {
                byte[] b = s.bytes(cnt);
                MemorySegment.copy(w.values(), JAVA_BYTE, e0, b, 0, cnt);
                for (int i = 0; i < cnt; i++) { // auto-vectorized
                    t[i] = b[i];
                }
            }
        }
        int[] ptr = s.ptr(4 * (g1 - g0) + 1), cols = s.cols;
        float[] v = s.vals;
        for (int g = 0; g < g1 - g0; g++) {
            int p = w.blockStart(g0 + g) - p0, l = w.blockStart(g0 + g + 1) - p0 - p;
            for (int gr = 0; gr < 4; gr++) {
                int q0 = 4 * p + gr * l; // first 4×1 block of channels 16g + 4gr ..
                ptr[4 * g + gr] = q0;
                for (int q = 0; q < l; q++) {
                    cols[q0 + q] = h[p + q] & 0xffff;
                    FloatVector.fromArray(S4, t, (p + q) * R + 4 * gr).intoArray(v, 4 * (q0 + q));
                }
            }
        }
        ptr[4 * (g1 - g0)] = 4 * len;
    }

    /** Lanes as channels: the one-row scheme, eight rows per register tile. */
    static void channels(MemorySegment a, Bsr16Matrix w, MemorySegment bias, Activation act, MemorySegment c,
            int m0, int m1, int n0, int n1) {
        CsrVector.Scratch s = CsrVector.scratch();
        int k = w.inFeatures(), n = w.outFeatures();
        int nb0 = n0 / R, nb1 = (n1 + R - 1) / R;
        int pb = w.blockStart(nb0), pe = w.blockStart(nb1);
        // Columns and (other than fp32) values of the whole channel range, widened once per call.
        s.nnz(pe - pb);
        int[] cols = s.cols;
        MemorySegment bc = w.blockCol();
        for (int i = pb; i < pe; i++) {
            cols[i - pb] = Short.toUnsignedInt(bc.getAtIndex(JAVA_SHORT_UNALIGNED, i));
        }
        MemorySegment vals;
        long vo;
        if (w.valueType() == CsrMatrix.ValueType.FP32) {
            vals = w.values(); // read in place: 64-byte blocks
            vo = (long) pb * R * 4;
        } else {
            vals = s.atSeg((pe - pb) * R); // aligned scratch
            vo = 0;
            widen(w, pb, pe, vals);
        }
        // A tile rows in a heap array: broadcasts from a heap float[] fold into the FMA's memory operand, from a
        // segment they took a separate load and a shuffle each (0.53 against 0.16 ns per FMA).
        float[] ap = s.x(2 * MR * k);
        for (int r0 = m0; r0 < m1; r0 += MR) {
            int rows = Math.min(MR, m1 - r0);
            MemorySegment.copy(a, JAVA_FLOAT_UNALIGNED, (long) r0 * k * 4, ap, 0, rows * k);
            if (rows == MR) {
                // k-major copy for the tile: the eight broadcasts of a block are ap[8c .. 8c+8), one cache line
                // and constant offsets (C2 merges their range checks). 1.0 against 0.77 of dense at 40% sparsity.
                int kk = 0;
                if (VL % MR == 0) { // one gather reads VL / 8 inputs of the eight rows
                    int[] map = s.strideK;
                    for (int i = 0; i < VL; i++) {
                        map[i] = (i % MR) * k + i / MR;
                    }
                    for (int per = VL / MR; kk + per <= k; kk += per) {
                        FloatVector.fromArray(S, ap, kk, map, 0).intoArray(ap, MR * k + kk * MR);
                    }
                }
                for (; kk < k; kk++) {
                    for (int r = 0; r < MR; r++) {
                        ap[MR * k + kk * MR + r] = ap[r * k + kk];
                    }
                }
            }
            for (int g0 = nb0; g0 < nb1; g0 += CHUNK) {
                int g1 = Math.min(nb1, g0 + CHUNK);
                int j0 = g0 * R, j1 = Math.min(n1, g1 * R);
                for (int j = j0; j < j1; j++) {
                    s.scale[j - j0] = w.rowScales() == null ? 1f : w.rowScales().getAtIndex(JAVA_FLOAT_UNALIGNED, j);
                    s.bias[j - j0] = bias == null ? 0f : bias.getAtIndex(JAVA_FLOAT_UNALIGNED, j);
                }
                for (int g = g0; g < g1; g++) {
                    int p = w.blockStart(g) - pb, e = w.blockStart(g + 1) - pb;
                    for (int h = 0; h < R; h += VL) {
                        long bo = vo + ((long) p * R + h) * 4;
                        if (rows == MR) {
                            tile8(ap, MR * k, cols, vals, bo, p, e, s.tile);
                            store(s.tile, VL, MR, c, n, r0, g * R + h, j0, j1, s, act);
                        } else {
                            for (int r = 0; r < rows; r++) {
                                row1(ap, r * k, cols, vals, bo, p, e, s.tile);
                                store(s.tile, VL, 1, c, n, r0 + r, g * R + h, j0, j1, s, act);
                            }
                        }
                    }
                }
            }
        }
    }

    /** Widens the values of blocks {@code [pb, pe)} to fp32 in {@code out} (int8 unscaled). */
    private static void widen(Bsr16Matrix w, int pb, int pe, MemorySegment out) {
        MemorySegment v = w.values();
        long e0 = (long) pb * R, len = (long) (pe - pb) * R;
        if (w.valueType() == CsrMatrix.ValueType.FP16) {
            for (long i = 0; i < len; i++) {
                out.setAtIndex(JAVA_FLOAT_UNALIGNED, i, Float.float16ToFloat(v.getAtIndex(JAVA_SHORT_UNALIGNED, e0 + i)));
            }
        } else {
            for (long i = 0; i < len; i++) {
                out.setAtIndex(JAVA_FLOAT_UNALIGNED, i, v.get(JAVA_BYTE, e0 + i));
            }
        }
    }

    /**
     * {@code MR} rows of A, k-major ({@code A[r][c]} at {@code ap[ao + c·MR + r]}), times blocks {@code [p, e)}: the block at {@code vals[vo + (q - p)·64
     * ..]} gets one broadcast of {@code A[r][cols[q]]} per row. The tile goes to {@code out[r·VL ..]}.
     */
    private static void tile8(float[] ap, int ao, int[] cols, MemorySegment vals, long vo, int p, int e, float[] out) {
        FloatVector c0 = FloatVector.zero(S), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
        for (int q = p; q < e; q++, vo += 4L * R) {
            FloatVector v = FloatVector.fromMemorySegment(S, vals, vo, LE);
            int o = ao + cols[q] * MR;
            c0 = v.fma(FloatVector.broadcast(S, ap[o]), c0);
            c1 = v.fma(FloatVector.broadcast(S, ap[o + 1]), c1);
            c2 = v.fma(FloatVector.broadcast(S, ap[o + 2]), c2);
            c3 = v.fma(FloatVector.broadcast(S, ap[o + 3]), c3);
            c4 = v.fma(FloatVector.broadcast(S, ap[o + 4]), c4);
            c5 = v.fma(FloatVector.broadcast(S, ap[o + 5]), c5);
            c6 = v.fma(FloatVector.broadcast(S, ap[o + 6]), c6);
            c7 = v.fma(FloatVector.broadcast(S, ap[o + 7]), c7);
        }
        c0.intoArray(out, 0);
        c1.intoArray(out, VL);
        c2.intoArray(out, 2 * VL);
        c3.intoArray(out, 3 * VL);
        c4.intoArray(out, 4 * VL);
        c5.intoArray(out, 5 * VL);
        c6.intoArray(out, 6 * VL);
        c7.intoArray(out, 7 * VL);
    }

    /** One row of A ({@code ap[ao ..]}): four accumulators rotate over the blocks to hide the FMA latency. */
    private static void row1(float[] ap, int ao, int[] cols, MemorySegment vals, long vo, int p, int e, float[] out) {
        FloatVector c0 = FloatVector.zero(S), c1 = c0, c2 = c0, c3 = c0;
        int q = p;
        for (; q + 3 < e; q += 4, vo += 16L * R) {
            c0 = FloatVector.fromMemorySegment(S, vals, vo, LE).fma(FloatVector.broadcast(S, ap[ao + cols[q]]), c0);
            c1 = FloatVector.fromMemorySegment(S, vals, vo + 4L * R, LE)
                    .fma(FloatVector.broadcast(S, ap[ao + cols[q + 1]]), c1);
            c2 = FloatVector.fromMemorySegment(S, vals, vo + 8L * R, LE)
                    .fma(FloatVector.broadcast(S, ap[ao + cols[q + 2]]), c2);
            c3 = FloatVector.fromMemorySegment(S, vals, vo + 12L * R, LE)
                    .fma(FloatVector.broadcast(S, ap[ao + cols[q + 3]]), c3);
        }
        for (; q < e; q++, vo += 4L * R) {
            c0 = FloatVector.fromMemorySegment(S, vals, vo, LE).fma(FloatVector.broadcast(S, ap[ao + cols[q]]), c0);
        }
        c0.add(c1).add(c2.add(c3)).intoArray(out, 0);
    }

    /**
     * Writes {@code rows} rows of {@code lanes} channels from {@code t[r·lanes ..]} to C at channel {@code col},
     * through the epilogue (scale and bias of the chunk starting at {@code j0}, activation), dropping channels
     * at or past {@code j1}. Whole vectors without GELU go straight to C: a {@code MemorySegment.copy} per row
     * of 16 floats cost more than the tile's FMAs.
     */
    private static void store(float[] t, int lanes, int rows, MemorySegment c, int n, int r0, int col, int j0, int j1,
            CsrVector.Scratch s, Activation act) {
        int cnt = Math.min(lanes, j1 - col);
        if (cnt <= 0) {
            return;
        }
        FloatVector sc = FloatVector.fromArray(S, s.scale, col - j0), bi = FloatVector.fromArray(S, s.bias, col - j0);
        boolean direct = cnt == VL && (act == Activation.NONE || act == Activation.RELU);
        for (int r = 0; r < rows; r++) {
            FloatVector v = FloatVector.fromArray(S, t, r * lanes).fma(sc, bi);
            long o = ((long) (r0 + r) * n + col) * 4;
            if (direct) {
                if (act == Activation.RELU) { // NaN and negatives to 0, as the reference does
                    v = FloatVector.zero(S).blend(v, v.compare(jdk.incubator.vector.VectorOperators.GT, 0f));
                }
                v.intoMemorySegment(c, o, LE);
            } else {
                v.intoArray(t, r * lanes);
                CsrVector.activate(t, r * lanes, cnt, act);
                MemorySegment.copy(t, r * lanes, c, JAVA_FLOAT_UNALIGNED, o, cnt);
            }
        }
    }
}
