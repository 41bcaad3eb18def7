package dev.compresso.engine.kernel;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED;

import dev.compresso.engine.weights.Fp32Panels;
import dev.compresso.engine.weights.Panels;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API fp32 GEMM {@code C = act(A · Wᵀ + bias)} over {@link Fp32Panels}.
 *
 * <p>Shape of the computation (BLIS-like, with the roles of the operands swapped because W is the operand
 * that is already packed): the K dimension is cut into blocks of {@link #KC}; for each block, a block of rows
 * of A (at most {@link #MC_TILES} tiles and {@link #BLOCK_FLOATS} floats) is copied into a {@code float[]} of
 * micro-panels ({@code MR} rows interleaved, k-major) so the register tile reads one contiguous stream of
 * broadcasts; then every register tile of {@code MR} rows × two vectors of W runs over the K block, keeping the same W slice (KC × 2 vectors) hot in L1/L2 while
 * it walks down the rows. Partial sums go through C between K blocks; bias and activation are
 * applied once, after the last K block.
 *
 * <p>The two vectors of a tile are consecutive columns: with 16 lanes they are two neighbouring panels, with
 * 8 lanes the two halves of one panel, with 4 lanes half a panel. In every case the W offset of column
 * {@code col} at feature {@code k} is {@code ((col / 16) · K + k) · 64 + (col % 16) · 4} bytes, so one
 * micro-kernel serves every width.
 *
 * <p>A single row ({@code m1 - m0 == 1}) takes a GEMV path that streams every panel once: at 16 lanes four
 * panels side by side sharing one broadcast of A (four concurrent memory streams), otherwise one panel with
 * four accumulators.
 *
 * <p>Scratch buffers are per thread (about 200 KiB at 16 lanes), so the kernel allocates nothing per call.
 */
final class Fp32Vector {
    private Fp32Vector() {}

    static final VectorSpecies<Float> S = species();
    /** Lanes per vector: 4, 8 or 16. */
    static final int L = S.length();
    /** Columns per register tile: two vectors. */
    static final int TW = 2 * L;
    /**
     * Rows per register tile. 8 × 2 accumulators use 16 of AVX-512's 32 registers. With 16 registers (AVX2)
     * C2 spilled a 6 × 2 tile (12 accumulators + 2 weights + 1 broadcast): measured 65 GFLOP/s against 92 for
     * 4 × 2 on one core at -XX:UseAVX=2, so narrower vectors take 4 rows. {@code compresso.fp32.mr} (4 or 8)
     * overrides it for benchmarks.
     */
    static final int MR = mr();
    /**
     * K block. Every W vector feeds MR FMAs, so the W slice (KC × TW floats) may live in L2; a longer block means
     * fewer round trips of partial sums through C, which misses L2 on large outputs. 2048 keeps BERT's K = 1536
     * (the FFN down projection) in one block: on 2 threads (Zen 4, side by side in one session) 4096×384×1536
     * ran 179–185 GFLOP/s against 164–168 with 512, 1024×384×1536 181–182 against 168, and one thread was as
     * fast or faster at every shape tried (4096×384×1536, 128×384×1536, 512×1024×4096). Earlier, 512 had beaten
     * 256 (0.72–0.83× against 0.60–0.74× OpenBLAS at 1024³). {@code compresso.fp32.kc} overrides it.
     */
    static final int KC = Math.max(16, Integer.getInteger("compresso.fp32.kc", 2048));
    /** Most row tiles in one block of packed A ({@code compresso.fp32.mcTiles}). */
    static final int MC_TILES = Math.max(1, Integer.getInteger("compresso.fp32.mcTiles", 12));
    /**
     * Packed A per row block, at most (floats; {@code compresso.fp32.blockKiB}, default 256 KiB): with a long K
     * block the row block shrinks so that it and the W slice of a register tile still share a 512 KiB L2.
     * At K = 1536 (5 tiles of 8 rows instead of 12) 4096×384×1536 ran 194–200 against 189–191 GFLOP/s.
     */
    static final int BLOCK_FLOATS = Math.max(1, Integer.getInteger("compresso.fp32.blockKiB", 256)) * 256;
    /** Floats of the per-thread packed-A buffer: the largest row block any K block gets. */
    private static final int AP_FLOATS = Math.max(MR * KC, BLOCK_FLOATS);
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /** Bytes between consecutive k of one panel. */
    private static final long KSTEP = Panels.NR * 4L;

    /** Benchmark switch: the one-panel GEMV loop at 16 lanes too ({@code compresso.fp32.gemv1}). */
    private static final boolean GEMV_ONE_PANEL = Boolean.getBoolean("compresso.fp32.gemv1");

    private static final ThreadLocal<float[][]> SCRATCH =
            ThreadLocal.withInitial(() -> new float[][] {new float[AP_FLOATS], new float[MR * TW], new float[4 * L], new float[0]});

    private static int mr() {
        int mr = Integer.getInteger("compresso.fp32.mr", L >= 16 ? 8 : 4);
        if (mr != 4 && mr != 8) {
            throw new IllegalArgumentException("compresso.fp32.mr must be 4 or 8, not " + mr);
        }
        return mr;
    }

    private static VectorSpecies<Float> species() {
        // 16 lanes at most: a panel is 16 wide. compresso.fp32.bits lets a benchmark compare widths.
        int bits = Integer.getInteger("compresso.fp32.bits", 0);
        VectorSpecies<Float> s = bits == 0 ? FloatVector.SPECIES_PREFERRED : VectorSpecies.of(float.class,
                jdk.incubator.vector.VectorShape.forBitSize(bits));
        if (s.length() > 16) {
            s = FloatVector.SPECIES_512;
        }
        if (s.length() < 4) {
            throw new LinkageError("fp32 kernel needs vectors of at least 4 floats, have " + s.length());
        }
        return s;
    }

    static void gemm(MemorySegment a, Fp32Panels w, MemorySegment bias, Activation act, MemorySegment c,
            int m0, int m1, int n0, int n1) {
        int k = w.inFeatures();
        if (m0 >= m1 || n0 >= n1) {
            return;
        }
        if (!vectorAccessible(w.data()) || !vectorAccessible(c) || (bias != null && !vectorAccessible(bias))) {
            // The Vector API reads heap segments only when they wrap a byte[]; others take the reference path.
            ScalarKernels.INSTANCE.fp32(a, w, bias, act, c, m0, m1, n0, n1);
            return;
        }
        if (k == 0) {
            fillEpilogue(bias, act, c, w.outFeatures(), m0, m1, n0, n1);
            return;
        }
        if (m1 - m0 == 1) {
            gemv(a, w, bias, act, c, m0, n0, n1);
            return;
        }
        blocked(a, w, bias, act, c, m0, m1, n0, n1);
    }

    static boolean vectorAccessible(MemorySegment s) {
        return s.heapBase().map(o -> o instanceof byte[]).orElse(true);
    }

    /** K = 0: the product is empty, C is the epilogue of zero. */
    private static void fillEpilogue(MemorySegment bias, Activation act, MemorySegment c, int n,
            int m0, int m1, int n0, int n1) {
        for (int i = m0; i < m1; i++) {
            for (int j = n0; j < n1; j++) {
                float v = bias == null ? 0f : bias.getAtIndex(JAVA_FLOAT_UNALIGNED, j);
                c.setAtIndex(JAVA_FLOAT_UNALIGNED, (long) i * n + j, act.apply(v));
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------
    // GEMV (one row): memory-bound, so stream every panel exactly once.

    /**
     * Each panel is a flat stream of K·16 floats; chunk {@code q} of it (L floats) holds feature
     * {@code q·L / 16} and columns {@code (q·L) % 16 …}. Four accumulators take chunks round-robin, so column
     * {@code j} of the panel is the sum of the accumulator lanes at flat positions ≡ j (mod 16).
     */
    private static void gemv(MemorySegment a, Fp32Panels w, MemorySegment bias, Activation act, MemorySegment c,
            int row, int n0, int n1) {
        int k = w.inFeatures(), n = w.outFeatures();
        MemorySegment d = w.data();
        float[][] scratch = SCRATCH.get();
        float[] red = scratch[2];
        // The row of A goes to a float[] first: array reads in the loop below lose their bounds checks to
        // C2's range-check elimination, segment reads by a computed long offset did not.
        if (scratch[3].length < k) {
            scratch[3] = new float[k];
        }
        float[] x = scratch[3];
        MemorySegment.copy(a, JAVA_FLOAT_UNALIGNED, (long) row * k * 4, x, 0, k);
        int chunks = k * (Panels.NR / L);        // chunks per panel
        int shift = Integer.numberOfTrailingZeros(Panels.NR / L); // q >> shift = feature of chunk q
        int p0 = n0 / Panels.NR, p1 = (n1 + Panels.NR - 1) / Panels.NR;
        int p = p0;
        if (L == Panels.NR && !GEMV_ONE_PANEL) {
            // 16 lanes: four panels at once, one vector per panel per k and one broadcast shared by all four.
            // Four concurrent streams keep more cache-line fetches in flight than one (memory-bound loop).
            for (; p + 4 <= p1; p += 4) {
                long w0 = (long) p * k * KSTEP, ps = (long) k * KSTEP;
                FloatVector acc0 = FloatVector.zero(S), acc1 = acc0, acc2 = acc0, acc3 = acc0;
                for (int kk = 0; kk < k; kk++) {
                    FloatVector xv = FloatVector.broadcast(S, x[kk]);
                    long o = w0 + kk * KSTEP;
                    acc0 = FloatVector.fromMemorySegment(S, d, o, LE).fma(xv, acc0);
                    acc1 = FloatVector.fromMemorySegment(S, d, o + ps, LE).fma(xv, acc1);
                    acc2 = FloatVector.fromMemorySegment(S, d, o + 2 * ps, LE).fma(xv, acc2);
                    acc3 = FloatVector.fromMemorySegment(S, d, o + 3 * ps, LE).fma(xv, acc3);
                }
                int col0 = p * Panels.NR;
                long cOff = ((long) row * n + col0) * 4;
                if (col0 + 4 * Panels.NR <= n1) {
                    storeEpilogue(acc0, bias, act, c, col0, cOff);
                    storeEpilogue(acc1, bias, act, c, col0 + 16, cOff + 64);
                    storeEpilogue(acc2, bias, act, c, col0 + 32, cOff + 128);
                    storeEpilogue(acc3, bias, act, c, col0 + 48, cOff + 192);
                } else {
                    // The last group holds the end of the range: finish it column by column.
                    FloatVector[] accs = {acc0, acc1, acc2, acc3};
                    for (int g = 0; g < 4; g++) {
                        accs[g].intoArray(red, 0);
                        int cg = col0 + g * Panels.NR;
                        int cols = Math.min(n1, cg + Panels.NR) - cg;
                        for (int j = 0; j < cols; j++) {
                            float v = red[j] + (bias == null ? 0f : bias.getAtIndex(JAVA_FLOAT_UNALIGNED, cg + j));
                            c.set(JAVA_FLOAT_UNALIGNED, cOff + (g * Panels.NR + j) * 4L, act.apply(v));
                        }
                    }
                }
            }
        }
        for (; p < p1; p++) {
            long wBase = (long) p * k * KSTEP;
            FloatVector acc0 = FloatVector.zero(S), acc1 = acc0, acc2 = acc0, acc3 = acc0;
            int q = 0;
            for (; q + 4 <= chunks; q += 4) {
                long wo = wBase + (long) q * L * 4;
                acc0 = FloatVector.fromMemorySegment(S, d, wo, LE)
                        .fma(FloatVector.broadcast(S, x[q >> shift]), acc0);
                acc1 = FloatVector.fromMemorySegment(S, d, wo + L * 4L, LE)
                        .fma(FloatVector.broadcast(S, x[(q + 1) >> shift]), acc1);
                acc2 = FloatVector.fromMemorySegment(S, d, wo + L * 8L, LE)
                        .fma(FloatVector.broadcast(S, x[(q + 2) >> shift]), acc2);
                acc3 = FloatVector.fromMemorySegment(S, d, wo + L * 12L, LE)
                        .fma(FloatVector.broadcast(S, x[(q + 3) >> shift]), acc3);
            }
            // Tail chunks go to the accumulator their position modulo 4 selects, so the reduction stays valid.
            for (; q < chunks; q++) {
                FloatVector v = FloatVector.fromMemorySegment(S, d, wBase + (long) q * L * 4, LE)
                        .mul(x[q >> shift]);
                switch (q & 3) {
                    case 0 -> acc0 = acc0.add(v);
                    case 1 -> acc1 = acc1.add(v);
                    case 2 -> acc2 = acc2.add(v);
                    default -> acc3 = acc3.add(v);
                }
            }
            int col0 = p * Panels.NR;
            int cols = Math.min(n1, col0 + Panels.NR) - col0;
            long cOff = ((long) row * n + col0) * 4;
            if (L == Panels.NR) {
                FloatVector s = acc0.add(acc1).add(acc2.add(acc3));
                if (cols == Panels.NR) {
                    storeEpilogue(s, bias, act, c, col0, cOff);
                    continue;
                }
                s.intoArray(red, 0);
            } else {
                acc0.intoArray(red, 0);
                acc1.intoArray(red, L);
                acc2.intoArray(red, 2 * L);
                acc3.intoArray(red, 3 * L);
                for (int j = 0; j < Panels.NR; j++) {
                    float s = 0f;
                    for (int f = j + Panels.NR; f < 4 * L; f += Panels.NR) {
                        s += red[f];
                    }
                    red[j] += s;
                }
            }
            for (int j = 0; j < cols; j++) {
                float v = red[j] + (bias == null ? 0f : bias.getAtIndex(JAVA_FLOAT_UNALIGNED, col0 + j));
                c.set(JAVA_FLOAT_UNALIGNED, cOff + j * 4L, act.apply(v));
            }
        }
    }

    /** Adds bias, applies the activation, stores one vector of C at {@code cOff} (columns {@code col…}). */
    static void storeEpilogue(FloatVector v, MemorySegment bias, Activation act, MemorySegment c,
            int col, long cOff) {
        if (bias != null) {
            v = v.add(FloatVector.fromMemorySegment(S, bias, col * 4L, LE));
        }
        switch (act) {
            case NONE -> v.intoMemorySegment(c, cOff, LE);
            // Not max(v, 0): the reference maps NaN to 0 (x > 0 ? x : 0), max would keep it.
            case RELU -> FloatVector.zero(S).blend(v, v.compare(VectorOperators.GT, 0f)).intoMemorySegment(c, cOff, LE);
            case GELU -> gelu(v).intoMemorySegment(c, cOff, LE);
            case GELU_TANH -> geluTanh(v).intoMemorySegment(c, cOff, LE);
        }
    }

    /**
     * {@code erfc(|x|/√2)} in lanes (Numerical Recipes' Chebyshev fit, as {@link MathFunctions#erf}): the shared
     * core of GELU and of its derivative in the training kernels.
     */
    static FloatVector erfcAbs(FloatVector x) {
        FloatVector z = x.abs().mul(0.70710677f);
        FloatVector t = z.mul(0.5f).add(1f);
        t = t.broadcast(1f).div(t); // species of the argument: the int8/fp16 kernels call this too
        FloatVector p = t.mul(0.17087277f).add(-0.82215223f); // Horner steps below as FMAs (exact in every JIT tier)
        p = p.fma(t, t.broadcast(1.48851587f));
        p = p.fma(t, t.broadcast(-1.13520398f));
        p = p.fma(t, t.broadcast(0.27886807f));
        p = p.fma(t, t.broadcast(-0.18628806f));
        p = p.fma(t, t.broadcast(0.09678418f));
        p = p.fma(t, t.broadcast(0.37409196f));
        p = p.fma(t, t.broadcast(1.00002368f));
        p = p.fma(t, t.broadcast(-1.26551223f));
        return t.mul(VectorMath.exp(p.sub(z.mul(z))));
    }

    /**
     * Exact (erf) GELU in fp32 lanes, the same Chebyshev fit as {@link MathFunctions#erf}:
     * {@code erfc(z) = t·exp(-z² + P(t))}, {@code t = 1/(1 + z/2)}, {@code z = |x|/√2}; then
     * {@code GELU(x) = x - x·erfc(z)/2} for {@code x ≥ 0} and {@code x·erfc(z)/2} below. Absolute error of erf
     * in fp32 stays below about 5e-7. Per element, the scalar route (double exp) cost 25× the GEMM itself on
     * 128×1536×384; the vector exp is one lanewise operation.
     */
    static FloatVector gelu(FloatVector x) {
        FloatVector erfc = erfcAbs(x);
        FloatVector half = x.mul(erfc).mul(0.5f);
        // Above 10, erfc is below 1e-40: return x itself, which also keeps +∞ from becoming ∞·0 = NaN.
        return x.sub(half).blend(half, x.lt(0f)).blend(x, x.compare(VectorOperators.GT, 10f));
    }

    /** Tanh-approximation GELU: {@code 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))}. */
    static FloatVector geluTanh(FloatVector x) {
        FloatVector u = x.mul(x).mul(0.044715f).add(1f).mul(x).mul(0.7978846f);
        return VectorMath.tanh(u).add(1f).mul(x.mul(0.5f)); // halve x first: 2·MAX_VALUE overflows
    }

    // ---------------------------------------------------------------------------------------------------
    // GEMM (two rows or more).

    private static void blocked(MemorySegment a, Fp32Panels w, MemorySegment bias, Activation act,
            MemorySegment c, int m0, int m1, int n0, int n1) {
        int k = w.inFeatures(), n = w.outFeatures();
        MemorySegment d = w.data();
        float[][] scratch = SCRATCH.get();
        float[] ap = scratch[0], tile = scratch[1];
        // Last column any W read may touch: the padded end of the last panel of this range.
        int colEnd = Math.min(Panels.panelCount(n), (n1 + Panels.NR - 1) / Panels.NR) * Panels.NR;
        for (int pc = 0; pc < k; pc += KC) {
            int kb = Math.min(KC, k - pc);
            boolean first = pc == 0, last = pc + kb == k;
            // Row blocks of at most MC_TILES tiles and BLOCK_FLOATS packed floats, of equal tile counts.
            int maxTiles = Math.max(1, Math.min(MC_TILES, BLOCK_FLOATS / (MR * kb)));
            int rangeTiles = (m1 - m0 + MR - 1) / MR;
            int blocks = (rangeTiles + maxTiles - 1) / maxTiles;
            int mc = (rangeTiles + blocks - 1) / blocks * MR;
            for (int ic = m0; ic < m1; ic += mc) {
                int mb = Math.min(mc, m1 - ic);
                int tiles = (mb + MR - 1) / MR;
                packA(a, k, ic, mb, pc, kb, ap);
                for (int col = n0; col < n1; col += TW) {
                    long b0 = wOffset(col, pc, k);
                    // With 16 lanes an odd panel count leaves a lone last panel: reuse it as the second
                    // vector (its results are discarded) rather than read past the weights.
                    long b1 = col + L < colEnd ? wOffset(col + L, pc, k) : b0;
                    int cols = Math.min(TW, n1 - col);
                    for (int t = 0; t < tiles; t++) {
                        int rows = Math.min(MR, mb - t * MR);
                        if (MR == 8) {
                            tile8(ap, t * kb * MR, d, b0, b1, kb, tile);
                        } else {
                            tile4(ap, t * kb * MR, d, b0, b1, kb, tile);
                        }
                        update(tile, rows, cols, c, n, ic + t * MR, col, first, last, bias, act);
                    }
                }
            }
        }
    }

    private static long wOffset(int col, int kk, int k) {
        return ((long) (col / Panels.NR) * k + kk) * KSTEP + (col % Panels.NR) * 4L;
    }

    /**
     * Copies {@code A[row0 .. row0+mb)[pc .. pc+kb)} into micro-panels of MR rows: element (r, kk) of tile t
     * at {@code (t·kb + kk)·MR + r}. Rows past {@code mb} are zero, so every tile runs the full-height kernel.
     */
    private static void packA(MemorySegment a, int k, int row0, int mb, int pc, int kb, float[] ap) {
        int tiles = (mb + MR - 1) / MR;
        for (int t = 0; t < tiles; t++) {
            int base = t * kb * MR;
            for (int r = 0; r < MR; r++) {
                int row = t * MR + r;
                if (row < mb) {
                    long src = ((long) (row0 + row) * k + pc) * 4;
                    for (int kk = 0; kk < kb; kk++) {
                        ap[base + kk * MR + r] = a.get(JAVA_FLOAT_UNALIGNED, src + kk * 4L);
                    }
                } else {
                    for (int kk = 0; kk < kb; kk++) {
                        ap[base + kk * MR + r] = 0f;
                    }
                }
            }
        }
    }

    /** 8 rows × 2 vectors register tile over kb features; writes the 16 sums to {@code tile} (row-major, TW wide). */
    private static void tile8(float[] ap, int ao, MemorySegment d, long b0, long b1, int kb, float[] tile) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
                c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00,
                c70 = c00, c71 = c00;
        for (int kk = 0; kk < kb; kk++) {
            FloatVector w0 = FloatVector.fromMemorySegment(S, d, b0 + kk * KSTEP, LE);
            FloatVector w1 = FloatVector.fromMemorySegment(S, d, b1 + kk * KSTEP, LE);
            int o = ao + kk * 8;
            FloatVector x = FloatVector.broadcast(S, ap[o]);
            c00 = w0.fma(x, c00);
            c01 = w1.fma(x, c01);
            x = FloatVector.broadcast(S, ap[o + 1]);
            c10 = w0.fma(x, c10);
            c11 = w1.fma(x, c11);
            x = FloatVector.broadcast(S, ap[o + 2]);
            c20 = w0.fma(x, c20);
            c21 = w1.fma(x, c21);
            x = FloatVector.broadcast(S, ap[o + 3]);
            c30 = w0.fma(x, c30);
            c31 = w1.fma(x, c31);
            x = FloatVector.broadcast(S, ap[o + 4]);
            c40 = w0.fma(x, c40);
            c41 = w1.fma(x, c41);
            x = FloatVector.broadcast(S, ap[o + 5]);
            c50 = w0.fma(x, c50);
            c51 = w1.fma(x, c51);
            x = FloatVector.broadcast(S, ap[o + 6]);
            c60 = w0.fma(x, c60);
            c61 = w1.fma(x, c61);
            x = FloatVector.broadcast(S, ap[o + 7]);
            c70 = w0.fma(x, c70);
            c71 = w1.fma(x, c71);
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, L);
        c10.intoArray(tile, TW);
        c11.intoArray(tile, TW + L);
        c20.intoArray(tile, 2 * TW);
        c21.intoArray(tile, 2 * TW + L);
        c30.intoArray(tile, 3 * TW);
        c31.intoArray(tile, 3 * TW + L);
        c40.intoArray(tile, 4 * TW);
        c41.intoArray(tile, 4 * TW + L);
        c50.intoArray(tile, 5 * TW);
        c51.intoArray(tile, 5 * TW + L);
        c60.intoArray(tile, 6 * TW);
        c61.intoArray(tile, 6 * TW + L);
        c70.intoArray(tile, 7 * TW);
        c71.intoArray(tile, 7 * TW + L);
    }

    /** 4 rows × 2 vectors register tile (8 accumulators). */
    private static void tile4(float[] ap, int ao, MemorySegment d, long b0, long b1, int kb, float[] tile) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
                c30 = c00, c31 = c00;
        for (int kk = 0; kk < kb; kk++) {
            FloatVector w0 = FloatVector.fromMemorySegment(S, d, b0 + kk * KSTEP, LE);
            FloatVector w1 = FloatVector.fromMemorySegment(S, d, b1 + kk * KSTEP, LE);
            int o = ao + kk * 4;
            FloatVector x = FloatVector.broadcast(S, ap[o]);
            c00 = w0.fma(x, c00);
            c01 = w1.fma(x, c01);
            x = FloatVector.broadcast(S, ap[o + 1]);
            c10 = w0.fma(x, c10);
            c11 = w1.fma(x, c11);
            x = FloatVector.broadcast(S, ap[o + 2]);
            c20 = w0.fma(x, c20);
            c21 = w1.fma(x, c21);
            x = FloatVector.broadcast(S, ap[o + 3]);
            c30 = w0.fma(x, c30);
            c31 = w1.fma(x, c31);
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, L);
        c10.intoArray(tile, TW);
        c11.intoArray(tile, TW + L);
        c20.intoArray(tile, 2 * TW);
        c21.intoArray(tile, 2 * TW + L);
        c30.intoArray(tile, 3 * TW);
        c31.intoArray(tile, 3 * TW + L);
    }

    /**
     * Adds a finished register tile into C ({@code rows × cols} valid): the first K block stores, later
     * blocks accumulate, the last one also applies bias and activation. Never writes past column N.
     */
    private static void update(float[] tile, int rows, int cols, MemorySegment c, int n, int row0, int col0,
            boolean first, boolean last, MemorySegment bias, Activation act) {
        for (int r = 0; r < rows; r++) {
            long cRow = ((long) (row0 + r) * n + col0) * 4;
            int j = 0;
            for (; j + L <= cols; j += L) {
                FloatVector v = FloatVector.fromArray(S, tile, r * TW + j);
                long cOff = cRow + j * 4L;
                if (!first) {
                    v = v.add(FloatVector.fromMemorySegment(S, c, cOff, LE));
                }
                if (last) {
                    storeEpilogue(v, bias, act, c, col0 + j, cOff);
                } else {
                    v.intoMemorySegment(c, cOff, LE);
                }
            }
            for (; j < cols; j++) {
                long cOff = cRow + j * 4L;
                float v = tile[r * TW + j];
                if (!first) {
                    v += c.get(JAVA_FLOAT_UNALIGNED, cOff);
                }
                if (last) {
                    if (bias != null) {
                        v += bias.getAtIndex(JAVA_FLOAT_UNALIGNED, col0 + j);
                    }
                    v = act.apply(v);
                }
                c.set(JAVA_FLOAT_UNALIGNED, cOff, v);
            }
        }
    }
}
