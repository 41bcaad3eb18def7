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
 * <p>Several rows ({@code m ≥ 4}): {@code A} is transposed once per call into blocks {@code Aᵀ[K][bw]} of
 * {@code bw} rows ({@code bw} = {@link #NV} = 4 vectors, or 1 vector for the last few rows) in an off-heap,
 * 64-byte aligned scratch (a heap {@code float[]} starts 16 bytes into a line, so each 64-byte load split two
 * lines: 0.46 against 0.62 of dense at 128x1536x384, 50% sparse). Each non-zero {@code (c, v)} of channel
 * {@code j} is a broadcast-FMA over contiguous rows, {@code acc[0..bw) += v · Aᵀ[c][0..bw)}, with two
 * accumulator sets in rotation to hide the FMA latency. Column indices and values of a chunk of channels are
 * widened to heap {@code int[]} / {@code float[]} once and reused over all row blocks; int8 values stay unscaled
 * there and the row scale is applied once per output in the epilogue (bias, activation), which writes whole
 * vectors straight to C.
 *
 * <p>One row at a time ({@code m < 4}): a sparse dot product per channel over a heap copy of the activation
 * row, with the indices and values of a window of non-zeros widened to heap arrays first.
 */
final class CsrVector {
    private CsrVector() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final java.nio.ByteOrder LE = java.nio.ByteOrder.LITTLE_ENDIAN;
    private static final int VL = S.length();
    /** Vectors of rows in a full A block: 4, or 2 (tuning switch {@code compresso.sparse.rowVectors}). */
    static final int NV = switch (Integer.getInteger("compresso.sparse.rowVectors", 4)) {
        case 2 -> 2;
        case 8 -> 8;
        default -> 4;
    };
    /** Rows of a full A block. */
    static final int RB = NV * VL;
    /** Floats of one row block's {@code Aᵀ} per K chunk (tuning switch {@code compresso.sparse.l1KiB}, default 24). */
    /** Bytes per row of a full block and per vector: byte offsets of {@code Aᵀ} rows without a multiply by 4. */
    private static final long RB4 = 4L * RB, V4 = 4L * VL;
    static final int AT_L1_FLOATS = Math.max(1, Integer.getInteger("compresso.sparse.l1KiB", 24)) * 256;
    /** Below this many rows, the per-row sparse dot product beats padding a block of rows. */
    static final int GEMV_ROWS = 4;
    /** Channels whose non-zeros are widened together (their block results stay in a small tile). */
    static final int CHANNELS = 64;
    /** Floats of transposed A kept at once (1 MiB), bounding the scratch memory for large m·K. */
    private static final int AT_FLOATS = 1 << 18;
    /** Non-zeros widened at once by the row-at-a-time path. */
    private static final int WINDOW = 2048;

    /** Gather offsets {@code i · bw} that read one row of a channel-major tile. */
    private static final int[][] STRIDES = {strides(VL), strides(2 * VL), null, strides(4 * VL), null, null, null,
        strides(8 * VL)};

    private static int[] strides(int bw) {
        int[] s = new int[VL];
        for (int i = 0; i < VL; i++) {
            s[i] = i * bw;
        }
        return s;
    }

    /** Per-thread scratch, grown on demand and reused between calls to avoid garbage in the hot path. */
    static final class Scratch {
        float[] at = new float[0];
        float[] ct = new float[0];
        float[] vals = new float[0];
        int[] cols = new int[0];
        float[] x = new float[0];
        float[] scale = new float[CHANNELS];
        float[] bias = new float[CHANNELS];
        float[] row = new float[CHANNELS];
        int[] strideK = new int[VL];
        int[] split = new int[0];
        int[] words = new int[0];
        /** Block-row pointers of a chunk ({@link BsrVector#rowBlocks}), relative to its first block. */
        int[] ptr = new int[0];
        short[] shorts = new short[0];
        byte[] bytes = new byte[0];
        /** A register tile of {@link Bsr16Vector}: 8 rows of one vector. */
        float[] tile = new float[8 * VL];

        int[] words(int n) {
            return words.length >= n ? words : (words = new int[n]);
        }

        int[] ptr(int n) {
            return ptr.length >= n ? ptr : (ptr = new int[n]);
        }

        short[] shorts(int n) {
            return shorts.length >= n ? shorts : (shorts = new short[n]);
        }

        byte[] bytes(int n) {
            return bytes.length >= n ? bytes : (bytes = new byte[n]);
        }

        int[] split(int n) {
            return split.length >= n ? split : (split = new int[n]);
        }

        float[] at(int n) {
            return at.length >= n ? at : (at = new float[n]);
        }

        MemorySegment atSeg = MemorySegment.NULL;

        /**
         * Transposed A, off-heap and 64-byte aligned: a heap {@code float[]} starts 16 bytes into a line, so
         * every 64-byte vector load from it spans two cache lines.
         */
        MemorySegment atSeg(int floats) {
            if (atSeg.byteSize() < floats * 4L) {
                atSeg = java.lang.foreign.Arena.ofAuto().allocate(floats * 4L, 64);
            }
            return atSeg;
        }

        float[] ct(int n) {
            return ct.length >= n ? ct : (ct = new float[n]);
        }

        float[] out = new float[0];

        float[] out(int n) {
            return out.length >= n ? out : (out = new float[n]);
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
        // The row-block path keeps RB transposed rows of A per block in an int-indexed heap array.
        if (m1 - m0 < GEMV_ROWS || (long) RB * w.inFeatures() > Integer.MAX_VALUE / 2) {
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
        float[] out = s.out(n1 - n0);
        MemorySegment.copy(a, JAVA_FLOAT_UNALIGNED, (long) i * k * 4, x, 0, k);
        MemorySegment rp = w.rowPtr();
        int end = rp.getAtIndex(JAVA_INT_UNALIGNED, n1);
        int ws = 0, we = 0; // the widened window holds non-zeros [ws, we)
        int p = rp.getAtIndex(JAVA_INT_UNALIGNED, n0);
        // fp32 values are read in place: only the indices need a heap copy (the gather takes an int[] map).
        boolean direct = w.valueType() == CsrMatrix.ValueType.FP32;
        for (int j = n0; j < n1; j++) {
            int e = rp.getAtIndex(JAVA_INT_UNALIGNED, j + 1);
            float acc = 0f;
            while (p < e) {
                if (p >= we) {
                    ws = p;
                    we = Math.min(end, p + WINDOW);
                    if (direct) {
                        s.nnz(we - ws);
                        MemorySegment.copy(w.colIdx(), JAVA_INT_UNALIGNED, (long) ws * 4, s.cols, 0, we - ws);
                    } else {
                        widen(w, ws, we, s);
                    }
                }
                int t = Math.min(e, we);
                acc += direct ? dotSegment(x, s.cols, w.values(), ws, p - ws, t - ws)
                        : dot(x, s.cols, s.vals, p - ws, t - ws);
                p = t;
            }
            acc *= outScale(w, j);
            if (bias != null) {
                acc += bias.getAtIndex(JAVA_FLOAT_UNALIGNED, j);
            }
            out[j - n0] = acc;
        }
        activate(out, n1 - n0, act);
        MemorySegment.copy(out, 0, c, JAVA_FLOAT_UNALIGNED, ((long) i * n + n0) * 4, n1 - n0);
    }

    /**
     * {@code Σ x[cols[p]] · vals[p]} over {@code p ∈ [lo, hi)} with the Vector API gather. Measured on Zen 3
     * (AVX2) at 1x4096x4096, 90% sparse: 884 µs against 1260 µs for a scalar loop with four accumulators.
     */
    static float dot(float[] x, int[] cols, float[] vals, int lo, int hi) {
        FloatVector a0 = FloatVector.zero(S), a1 = FloatVector.zero(S);
        int p = lo;
        for (; p + 2 * VL <= hi; p += 2 * VL) {
            a0 = FloatVector.fromArray(S, x, 0, cols, p).fma(FloatVector.fromArray(S, vals, p), a0);
            a1 = FloatVector.fromArray(S, x, 0, cols, p + VL).fma(FloatVector.fromArray(S, vals, p + VL), a1);
        }
        if (p + VL <= hi) { // rows average only a few dozen non-zeros: keep the scalar tail short
            a0 = FloatVector.fromArray(S, x, 0, cols, p).fma(FloatVector.fromArray(S, vals, p), a0);
            p += VL;
        }
        float r = VectorMath.sum(a0.add(a1));
        for (; p < hi; p++) {
            r += x[cols[p]] * vals[p];
        }
        return r;
    }

    /** {@link #dot} with the fp32 values read from the segment: value of {@code cols[q]} at element {@code base + q}. */
    static float dotSegment(float[] x, int[] cols, MemorySegment vals, int base, int lo, int hi) {
        FloatVector a0 = FloatVector.zero(S), a1 = FloatVector.zero(S);
        int p = lo;
        for (; p + 2 * VL <= hi; p += 2 * VL) {
            long o = (long) (base + p) * 4;
            a0 = FloatVector.fromArray(S, x, 0, cols, p).fma(FloatVector.fromMemorySegment(S, vals, o, LE), a0);
            a1 = FloatVector.fromArray(S, x, 0, cols, p + VL)
                    .fma(FloatVector.fromMemorySegment(S, vals, o + 4L * VL, LE), a1);
        }
        if (p + VL <= hi) {
            a0 = FloatVector.fromArray(S, x, 0, cols, p)
                    .fma(FloatVector.fromMemorySegment(S, vals, (long) (base + p) * 4, LE), a0);
            p += VL;
        }
        float r = VectorMath.sum(a0.add(a1));
        for (; p < hi; p++) {
            r += x[cols[p]] * vals.getAtIndex(JAVA_FLOAT_UNALIGNED, (long) base + p);
        }
        return r;
    }

    // ---------------------------------------------------------------- blocks of rows

    /** Rows of A transposed at once: a multiple of {@link #RB}, at least one block, about 1 MiB. */
    static int superRows(int k) {
        int r = AT_FLOATS / Math.max(1, k) / RB * RB;
        return Math.max(RB, Math.min(4 * RB, r));
    }

    /**
     * Transposes rows {@code [r0, r0 + rows)} of {@code A} into {@code at[off + kk·bw + r]} (floats), zero-padding
     * rows {@code rows..bw-1}.
     */
    static void pack(MemorySegment a, int k, int r0, int rows, int bw, MemorySegment at, long off, Scratch s) {
        // The block's rows are contiguous in A: one bulk copy, then a transpose with sequential writes.
        float[] rowsBuf = s.x(rows * k);
        MemorySegment.copy(a, JAVA_FLOAT_UNALIGNED, (long) r0 * k * 4, rowsBuf, 0, rows * k);
        int full = rows / VL * VL;
        int[] idx = s.strideK;
        if (full > 0) {
            // Gather offsets r·k: one vector gather reads VL rows of one column.
            for (int i = 0; i < VL; i++) {
                idx[i] = i * k;
            }
        }
        for (int kk = 0; kk < k; kk++) {
            long d = off + (long) kk * bw;
            int r = 0;
            for (; r < full; r += VL) {
                FloatVector.fromArray(S, rowsBuf, r * k + kk, idx, 0).intoMemorySegment(at, (d + r) * 4, LE);
            }
            for (; r < rows; r++) {
                at.setAtIndex(JAVA_FLOAT_UNALIGNED, d + r, rowsBuf[r * k + kk]);
            }
            for (; r < bw; r++) {
                at.setAtIndex(JAVA_FLOAT_UNALIGNED, d + r, 0f);
            }
        }
    }

    private static void blocks(MemorySegment a, CsrMatrix w, MemorySegment bias, Activation act,
            MemorySegment c, int m0, int m1, int n0, int n1, Scratch s) {
        int k = w.inFeatures();
        MemorySegment rp = w.rowPtr();
        int sr = superRows(k);
        MemorySegment at = s.atSeg(sr * k);
        float[] ct = s.ct(CHANNELS * RB);
        int kc = kChunk(k), nk = (k + kc - 1) / kc;
        for (int r0 = m0; r0 < m1; r0 += sr) {
            int rows = Math.min(sr, m1 - r0);
            // Row blocks of this super-block: full RB blocks, then VL-wide blocks for the rest.
            int full = rows / RB;
            int rest = rows - full * RB;
            int tails = (rest + VL - 1) / VL;
            for (int b = 0; b < full; b++) {
                pack(a, k, r0 + b * RB, RB, RB, at, (long) b * RB * k, s);
            }
            for (int b = 0; b < tails; b++) {
                int rr = full * RB + b * VL;
                pack(a, k, r0 + rr, Math.min(VL, rows - rr), VL, at, (long) rr * k, s);
            }
            for (int j0 = n0; j0 < n1; j0 += CHANNELS) {
                int j1 = Math.min(n1, j0 + CHANNELS);
                int p0 = rp.getAtIndex(JAVA_INT_UNALIGNED, j0);
                widen(w, p0, rp.getAtIndex(JAVA_INT_UNALIGNED, j1), s);
                int[] split = s.split((j1 - j0) * (nk + 1));
                for (int j = j0; j < j1; j++) {
                    s.scale[j - j0] = outScale(w, j);
                    s.bias[j - j0] = bias == null ? 0f : bias.getAtIndex(JAVA_FLOAT_UNALIGNED, j);
                    splits(s.cols, rp.getAtIndex(JAVA_INT_UNALIGNED, j) - p0, rp.getAtIndex(JAVA_INT_UNALIGNED, j + 1) - p0,
                            kc, nk, split, (j - j0) * (nk + 1));
                }
                for (int b = 0; b < full; b++) {
                    long off = 4L * b * RB * k;
                    for (int q = 0; q < nk; q++) {
                        for (int j = j0; j < j1; j++) {
                            int sp = (j - j0) * (nk + 1) + q;
                            channelWide(at, off, s.cols, s.vals, split[sp], split[sp + 1], ct, (j - j0) * RB, q > 0);
                        }
                    }
                    store(ct, RB, c, w.outFeatures(), r0 + b * RB, RB, j0, j1, s, act);
                }
                for (int b = 0; b < tails; b++) {
                    int rr = full * RB + b * VL;
                    long off = 4L * rr * k;
                    for (int j = j0; j < j1; j++) {
                        channel1(at, off, s.cols, s.vals, rp.getAtIndex(JAVA_INT_UNALIGNED, j) - p0,
                                rp.getAtIndex(JAVA_INT_UNALIGNED, j + 1) - p0, ct, (j - j0) * VL);
                    }
                    store(ct, VL, c, w.outFeatures(), r0 + rr, Math.min(VL, rows - rr), j0, j1, s, act);
                }
            }
        }
    }

    /** Inputs per K chunk: the chunk's {@code Aᵀ} rows of one full row block fill {@link #AT_L1_FLOATS}. */
    static int kChunk(int k) {
        if (AT_L1_FLOATS == 0) {
            return Math.max(1, k);
        }
        int kc = Math.max(16, AT_L1_FLOATS / RB);
        return Math.min(Math.max(1, k), kc);
    }

    /**
     * Non-zero positions where each K chunk starts in one channel: {@code split[so + q]} is the first
     * {@code p ∈ [p, e)} with {@code cols[p] ≥ q·kc} ({@code split[so + nk] = e}); columns increase within a row.
     */
    static void splits(int[] cols, int p, int e, int kc, int nk, int[] split, int so) {
        split[so] = p;
        for (int q = 1; q < nk; q++) {
            int lim = q * kc;
            while (p < e && cols[p] < lim) {
                p++;
            }
            split[so + q] = p;
        }
        split[so + nk] = e;
    }

    /**
     * Applies {@code act} to {@code v[0..cnt)} in place: in vector lanes for GELU (the scalar route through
     * {@code double} exp/erf costs more than a sparse product), and switched outside the loops, since
     * {@link Activation#apply} is too large to inline.
     */
    static void activate(float[] v, int cnt, Activation act) {
        activate(v, 0, cnt, act);
    }

    /** {@link #activate(float[], int, Activation)} over {@code v[off .. off+cnt)}. */
    static void activate(float[] v, int off, int cnt, Activation act) {
        cnt += off;
        switch (act) {
            case NONE -> { }
            case RELU -> {
                for (int q = off; q < cnt; q++) {
                    v[q] = v[q] > 0f ? v[q] : 0f; // NaN to 0, as the reference does
                }
            }
            case GELU, GELU_TANH -> {
                VectorSpecies<Float> g = Fp32Vector.S;
                int q = off;
                for (; q + g.length() <= cnt; q += g.length()) {
                    FloatVector x = FloatVector.fromArray(g, v, q);
                    (act == Activation.GELU ? Fp32Vector.gelu(x) : Fp32Vector.geluTanh(x)).intoArray(v, q);
                }
                for (; q < cnt; q++) {
                    v[q] = act.apply(v[q]);
                }
            }
        }
    }

    /** Writes the tile {@code ct[(j-j0)·bw + r]} to {@code C[r0 + r][j]} through the epilogue. */
    static void store(float[] ct, int bw, MemorySegment c, int n, int r0, int rows, int j0, int j1, Scratch s,
            Activation act) {
        float[] scale = s.scale, bias = s.bias, row = s.row;
        int cnt = j1 - j0;
        int[] stride = STRIDES[bw / VL - 1]; // bw is VL, 2·VL or 4·VL
        if (act == Activation.NONE || act == Activation.RELU) {
            // Whole vectors go straight to C: a MemorySegment.copy per row and chunk cost ~40% of a call at
            // 100% sparsity (128x1536x384).
            for (int r = 0; r < rows; r++) {
                long o = ((long) (r0 + r) * n + j0) * 4;
                int jj = 0;
                for (; jj + VL <= cnt; jj += VL) {
                    FloatVector v = FloatVector.fromArray(S, ct, jj * bw + r, stride, 0)
                            .fma(FloatVector.fromArray(S, scale, jj), FloatVector.fromArray(S, bias, jj));
                    if (act == Activation.RELU) { // NaN and negatives to 0, as the reference does
                        v = FloatVector.zero(S).blend(v, v.compare(VectorOperators.GT, 0f));
                    }
                    v.intoMemorySegment(c, o + jj * 4L, LE);
                }
                for (; jj < cnt; jj++) {
                    float v = ct[jj * bw + r] * scale[jj] + bias[jj];
                    c.set(JAVA_FLOAT_UNALIGNED, o + jj * 4L, act == Activation.RELU ? (v > 0f ? v : 0f) : v);
                }
            }
            return;
        }
        for (int r = 0; r < rows; r++) {
            // Transpose into a heap row, activate it in vector lanes, then one bulk copy.
            int jj = 0;
            for (; jj + VL <= cnt; jj += VL) {
                FloatVector.fromArray(S, ct, jj * bw + r, stride, 0)
                        .fma(FloatVector.fromArray(S, scale, jj), FloatVector.fromArray(S, bias, jj)).intoArray(row, jj);
            }
            for (; jj < cnt; jj++) {
                row[jj] = ct[jj * bw + r] * scale[jj] + bias[jj];
            }
            activate(row, cnt, act);
            MemorySegment.copy(row, 0, c, JAVA_FLOAT_UNALIGNED, ((long) (r0 + r) * n + j0) * 4, cnt);
        }
    }

    /**
     * One channel over a {@link #RB}-row block, non-zeros {@code [p, e)}: {@code ct[co..co+RB) (+)= Σ vals[p] ·
     * at[off + cols[p]·RB ..]}. Two accumulator sets of {@link #NV} vectors rotate over the non-zeros to hide the
     * FMA latency; {@code add} continues the sums of an earlier K chunk.
     */
    private static void channelWide(MemorySegment at, long off, int[] cols, float[] vals, int p, int e, float[] ct, int co,
            boolean add) {
        if (NV == 8) {
            channel8(at, off, cols, vals, p, e, ct, co, add);
        } else if (NV == 4) {
            channel4(at, off, cols, vals, p, e, ct, co, add);
        } else {
            channel2(at, off, cols, vals, p, e, ct, co, add);
        }
    }

    /** Eight row vectors, one accumulator set: eight FMAs per non-zero cover the FMA latency on their own. */
    private static void channel8(MemorySegment at, long off, int[] cols, float[] vals, int p, int e, float[] ct, int co,
            boolean add) {
        FloatVector a0, a1, a2, a3, a4, a5, a6, a7;
        if (add) {
            a0 = FloatVector.fromArray(S, ct, co);
            a1 = FloatVector.fromArray(S, ct, co + VL);
            a2 = FloatVector.fromArray(S, ct, co + 2 * VL);
            a3 = FloatVector.fromArray(S, ct, co + 3 * VL);
            a4 = FloatVector.fromArray(S, ct, co + 4 * VL);
            a5 = FloatVector.fromArray(S, ct, co + 5 * VL);
            a6 = FloatVector.fromArray(S, ct, co + 6 * VL);
            a7 = FloatVector.fromArray(S, ct, co + 7 * VL);
        } else {
            a0 = FloatVector.zero(S);
            a1 = a0;
            a2 = a0;
            a3 = a0;
            a4 = a0;
            a5 = a0;
            a6 = a0;
            a7 = a0;
        }
        for (; p < e; p++) {
            long o = off + cols[p] * RB4;
            FloatVector v = FloatVector.broadcast(S, vals[p]);
            a0 = FloatVector.fromMemorySegment(S, at, o, LE).fma(v, a0);
            a1 = FloatVector.fromMemorySegment(S, at, o + V4, LE).fma(v, a1);
            a2 = FloatVector.fromMemorySegment(S, at, o + 2 * V4, LE).fma(v, a2);
            a3 = FloatVector.fromMemorySegment(S, at, o + 3 * V4, LE).fma(v, a3);
            a4 = FloatVector.fromMemorySegment(S, at, o + 4 * V4, LE).fma(v, a4);
            a5 = FloatVector.fromMemorySegment(S, at, o + 5 * V4, LE).fma(v, a5);
            a6 = FloatVector.fromMemorySegment(S, at, o + 6 * V4, LE).fma(v, a6);
            a7 = FloatVector.fromMemorySegment(S, at, o + 7 * V4, LE).fma(v, a7);
        }
        a0.intoArray(ct, co);
        a1.intoArray(ct, co + VL);
        a2.intoArray(ct, co + 2 * VL);
        a3.intoArray(ct, co + 3 * VL);
        a4.intoArray(ct, co + 4 * VL);
        a5.intoArray(ct, co + 5 * VL);
        a6.intoArray(ct, co + 6 * VL);
        a7.intoArray(ct, co + 7 * VL);
    }

    private static void channel4(MemorySegment at, long off, int[] cols, float[] vals, int p, int e, float[] ct, int co,
            boolean add) {
        FloatVector a0, a1, a2, a3;
        if (add) {
            a0 = FloatVector.fromArray(S, ct, co);
            a1 = FloatVector.fromArray(S, ct, co + VL);
            a2 = FloatVector.fromArray(S, ct, co + 2 * VL);
            a3 = FloatVector.fromArray(S, ct, co + 3 * VL);
        } else {
            a0 = FloatVector.zero(S);
            a1 = a0;
            a2 = a0;
            a3 = a0;
        }
        FloatVector b0 = FloatVector.zero(S), b1 = b0, b2 = b0, b3 = b0;
        for (; p + 1 < e; p += 2) {
            long o = off + cols[p] * RB4;
            FloatVector v = FloatVector.broadcast(S, vals[p]);
            a0 = FloatVector.fromMemorySegment(S, at, o, LE).fma(v, a0);
            a1 = FloatVector.fromMemorySegment(S, at, o + V4, LE).fma(v, a1);
            a2 = FloatVector.fromMemorySegment(S, at, o + 2 * V4, LE).fma(v, a2);
            a3 = FloatVector.fromMemorySegment(S, at, o + 3 * V4, LE).fma(v, a3);
            o = off + cols[p + 1] * RB4;
            v = FloatVector.broadcast(S, vals[p + 1]);
            b0 = FloatVector.fromMemorySegment(S, at, o, LE).fma(v, b0);
            b1 = FloatVector.fromMemorySegment(S, at, o + V4, LE).fma(v, b1);
            b2 = FloatVector.fromMemorySegment(S, at, o + 2 * V4, LE).fma(v, b2);
            b3 = FloatVector.fromMemorySegment(S, at, o + 3 * V4, LE).fma(v, b3);
        }
        if (p < e) {
            long o = off + cols[p] * RB4;
            FloatVector v = FloatVector.broadcast(S, vals[p]);
            a0 = FloatVector.fromMemorySegment(S, at, o, LE).fma(v, a0);
            a1 = FloatVector.fromMemorySegment(S, at, o + V4, LE).fma(v, a1);
            a2 = FloatVector.fromMemorySegment(S, at, o + 2 * V4, LE).fma(v, a2);
            a3 = FloatVector.fromMemorySegment(S, at, o + 3 * V4, LE).fma(v, a3);
        }
        a0.add(b0).intoArray(ct, co);
        a1.add(b1).intoArray(ct, co + VL);
        a2.add(b2).intoArray(ct, co + 2 * VL);
        a3.add(b3).intoArray(ct, co + 3 * VL);
    }

    private static void channel2(MemorySegment at, long off, int[] cols, float[] vals, int p, int e, float[] ct, int co,
            boolean add) {
        FloatVector a0 = FloatVector.zero(S), a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0, d0 = a0, d1 = a0;
        if (add) {
            a0 = FloatVector.fromArray(S, ct, co);
            a1 = FloatVector.fromArray(S, ct, co + VL);
        }
        for (; p + 3 < e; p += 4) {
            long o = off + cols[p] * RB4;
            FloatVector v = FloatVector.broadcast(S, vals[p]);
            a0 = FloatVector.fromMemorySegment(S, at, o, LE).fma(v, a0);
            a1 = FloatVector.fromMemorySegment(S, at, o + V4, LE).fma(v, a1);
            o = off + cols[p + 1] * RB4;
            v = FloatVector.broadcast(S, vals[p + 1]);
            b0 = FloatVector.fromMemorySegment(S, at, o, LE).fma(v, b0);
            b1 = FloatVector.fromMemorySegment(S, at, o + V4, LE).fma(v, b1);
            o = off + cols[p + 2] * RB4;
            v = FloatVector.broadcast(S, vals[p + 2]);
            c0 = FloatVector.fromMemorySegment(S, at, o, LE).fma(v, c0);
            c1 = FloatVector.fromMemorySegment(S, at, o + V4, LE).fma(v, c1);
            o = off + cols[p + 3] * RB4;
            v = FloatVector.broadcast(S, vals[p + 3]);
            d0 = FloatVector.fromMemorySegment(S, at, o, LE).fma(v, d0);
            d1 = FloatVector.fromMemorySegment(S, at, o + V4, LE).fma(v, d1);
        }
        for (; p < e; p++) {
            long o = off + cols[p] * RB4;
            FloatVector v = FloatVector.broadcast(S, vals[p]);
            a0 = FloatVector.fromMemorySegment(S, at, o, LE).fma(v, a0);
            a1 = FloatVector.fromMemorySegment(S, at, o + V4, LE).fma(v, a1);
        }
        a0.add(b0).add(c0.add(d0)).intoArray(ct, co);
        a1.add(b1).add(c1.add(d1)).intoArray(ct, co + VL);
    }

    /** One channel over a {@link #VL}-row block, four accumulators in rotation. */
    private static void channel1(MemorySegment at, long off, int[] cols, float[] vals, int p, int e, float[] ct, int co) {
        FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
        for (; p + 3 < e; p += 4) {
            a0 = FloatVector.fromMemorySegment(S, at, off + cols[p] * V4, LE).fma(FloatVector.broadcast(S, vals[p]), a0);
            a1 = FloatVector.fromMemorySegment(S, at, off + cols[p + 1] * V4, LE).fma(FloatVector.broadcast(S, vals[p + 1]), a1);
            a2 = FloatVector.fromMemorySegment(S, at, off + cols[p + 2] * V4, LE).fma(FloatVector.broadcast(S, vals[p + 2]), a2);
            a3 = FloatVector.fromMemorySegment(S, at, off + cols[p + 3] * V4, LE).fma(FloatVector.broadcast(S, vals[p + 3]), a3);
        }
        for (; p < e; p++) {
            a0 = FloatVector.fromMemorySegment(S, at, off + cols[p] * V4, LE).fma(FloatVector.broadcast(S, vals[p]), a0);
        }
        a0.add(a1).add(a2.add(a3)).intoArray(ct, co);
    }
}
