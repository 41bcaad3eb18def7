package dev.compresso.engine.kernel;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED;

import dev.compresso.engine.weights.Panels;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The fp32 register-tiled micro-kernel shared by the compressed-weight GEMMs (int8 W8A32, fp16): their
 * weights are first widened, a group of panels at a time, into an fp32 scratch in the panel layout; the
 * widening is then paid once per group and amortized over every row of {@code A}.
 *
 * <p>A strip is {@code 2·L} output channels (two vectors of {@code L} lanes); a tile is {@link #MR} rows of a
 * strip (6 rows: 12 accumulators, two weight vectors and one broadcast fit the 16 registers of AVX2; 8 rows
 * with 512-bit vectors). With {@code L = 16} a strip spans two panels, so groups hold two panels; with
 * {@code L ≤ 8} one panel. A is packed k-major per tile, rows are blocked by {@link #MB} and k by {@link #KB}
 * so the accumulators and the strip block stay in L1. The few-rows path ({@link #fewRows}) widens L1-sized
 * chunks instead.
 *
 * <p>Tiles spill their accumulators to an array and the epilogue reloads them: a vector passed to a call that
 * C2 does not inline is boxed, which made an earlier version ten times slower.
 */
final class StripGemm {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int L = F.length();
    /** Channels per strip. */
    static final int W = 2 * L;
    /** Panels widened together (a strip never straddles a group). */
    static final int GROUP = Math.max(1, W / Panels.NR);
    /**
     * Rows per register tile: 8 (16 accumulators) when vectors are 512-bit, which implies 32 registers; 6 (12
     * accumulators) otherwise, to fit AVX2's and NEON's 16 registers... NEON has 32, but its 4-lane strips
     * already cost two tiles per panel.
     */
    static final int MR = L >= 16 ? 8 : 6;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[1][0]);
    private static final ThreadLocal<float[][]> FEW = ThreadLocal.withInitial(() -> new float[1][0]);
    private static final ThreadLocal<float[][]> ATILES = ThreadLocal.withInitial(() -> new float[1][0]);
    private static final ThreadLocal<float[][]> AROWS = ThreadLocal.withInitial(() -> new float[1][0]);
    private static final ThreadLocal<float[][]> ACC_ALL = ThreadLocal.withInitial(() -> new float[1][0]);
    /** k-rows per block of the many-rows path: a strip's block, 2·L·KB floats (16 KiB at L = 16), stays in L1. */
    static final int KB = 128;
    /** Rows per block of the many-rows path (a multiple of both tile heights). */
    static final int MB = 96;

    private StripGemm() {}

    /** A per-thread fp32 scratch of at least {@code size} floats (contents undefined). */
    static float[] scratch(int size) {
        float[][] h = SCRATCH.get();
        if (h[0].length < size) {
            h[0] = new float[size];
        }
        return h[0];
    }

    /**
     * Copies rows {@code [m0, m1)} of {@code a} ({@code [m, k]} fp32) into a per-thread array: the tiles then
     * broadcast from a Java array, which keeps the compiled loop small enough for C2 to inline every vector
     * operation (segment accesses add many nodes, and a vector op left un-inlined allocates).
     */
    static float[] packRows(MemorySegment a, int k, int m0, int m1) {
        float[][] h = AROWS.get();
        int size = (m1 - m0) * k;
        if (h[0].length < size) {
            h[0] = new float[size];
        }
        MemorySegment.copy(a, JAVA_FLOAT_UNALIGNED, (long) m0 * k * 4, h[0], 0, size);
        return h[0];
    }

    /**
     * Packs rows {@code [m0, m1)} of {@code a} for the tiles: tile {@code t} (rows {@code m0 + t·MR …}) holds
     * element (r, kk) at {@code (t·k + kk)·MR + r}, so one k step broadcasts from one cache line; rows past
     * {@code m1} are zero and every tile runs at full height.
     */
    static float[] packTiles(MemorySegment a, int k, int m0, int m1) {
        int tiles = (m1 - m0 + MR - 1) / MR;
        float[][] h = ATILES.get();
        int size = tiles * k * MR;
        if (h[0].length < size) {
            h[0] = new float[size];
        }
        float[] ap = h[0];
        for (int t = 0; t < tiles; t++) {
            for (int r = 0; r < MR; r++) {
                int row = m0 + t * MR + r;
                int base = t * k * MR + r;
                if (row < m1) {
                    long src = (long) row * k * 4;
                    for (int kk = 0; kk < k; kk++) {
                        ap[base + kk * MR] = a.get(JAVA_FLOAT_UNALIGNED, src + kk * 4L);
                    }
                } else {
                    for (int kk = 0; kk < k; kk++) {
                        ap[base + kk * MR] = 0f;
                    }
                }
            }
        }
        return ap;
    }

    /**
     * Computes rows {@code [m0, m1)} of the channels held by the widened group {@code ws} (panels
     * {@code p0 … p0+GROUP-1}, each {@code k·16} floats in the panel layout), writing only channels below
     * {@code n1}. {@code ap} holds rows {@code [m0, m1)} of A ({@link #packTiles}). {@code scale} (per channel,
     * optional) multiplies the accumulator before the bias.
     */
    static void group(float[] ap, int k, int n, float[] ws, int p0, int n1, MemorySegment scale,
            MemorySegment bias, Activation act, MemorySegment c, int m0, int m1) {
        int cols = GROUP * Panels.NR;
        int rows = (Math.min(MB, m1 - m0) + MR - 1) / MR * MR; // tiles always write MR rows
        float[][] h = ACC_ALL.get();
        if (h[0].length < rows * W) {
            h[0] = new float[rows * W];
        }
        float[] acc = h[0];
        for (int s = 0; s < cols; s += W) {
            int col0 = p0 * Panels.NR + s;
            if (col0 >= n1) {
                return;
            }
            // Offsets of the strip's two vectors in ws: inside one panel when L <= 8, one per panel when L = 16.
            int off0 = (s / Panels.NR) * k * Panels.NR + s % Panels.NR;
            int off1 = ((s + L) / Panels.NR) * k * Panels.NR + (s + L) % Panels.NR;
            // Row blocks keep the accumulators in L1; k blocks keep the strip's weights in L1 while every row
            // tile of the block passes over them.
            for (int rb = m0; rb < m1; rb += MB) {
                int re = Math.min(m1, rb + MB);
                for (int k0 = 0; k0 < k || k0 == 0; k0 += KB) {
                    int kc = Math.min(KB, k - k0);
                    boolean load = k0 > 0;
                    int wo = k0 * Panels.NR;
                    for (int i = rb; i < re; i += MR) {
                        int t = (i - m0) / MR;
                        if (MR == 8) {
                            tile8(ap, (t * k + k0) * MR, kc, ws, off0 + wo, off1 + wo, acc, (i - rb) * W, load);
                        } else {
                            tile6(ap, (t * k + k0) * MR, kc, ws, off0 + wo, off1 + wo, acc, (i - rb) * W, load);
                        }
                    }
                }
                for (int i = rb; i < re; i++) {
                    int o = (i - rb) * W;
                    store(acc, o, col0, n, n1, scale,
                            bias, act, c, i);
                }
            }
        }
    }

    /** Widens {@code kc} k-rows starting at {@code k0} of one panel into {@code ws[wo …]} (panel layout). */
    @FunctionalInterface
    interface Widener {
        void widen(int panel, int k0, int kc, float[] ws, int wo);
    }

    /** k-rows widened per chunk on the few-rows path (measured at 1x4096x4096 fp16: 64, 128, 256, 1024, 4096 -> 128 best). */
    static final int KC = 128;

    /**
     * The few-rows path (GEMV): weights are used once per row, so they are widened in chunks of {@link #KC}
     * k-rows that stay in L1 instead of a whole panel group. {@code panels} is the panel count of the layout.
     */
    static void fewRows(float[] ap, int k, int n, int panels, Widener wd, MemorySegment scale, MemorySegment bias,
            Activation act, MemorySegment c, int m0, int m1, int n0, int n1) {
        int rows = m1 - m0;
        int spg = GROUP * Panels.NR / W; // strips per group
        float[] ws = scratch(GROUP * KC * Panels.NR);
        float[][] h = FEW.get();
        if (h[0].length < rows * spg * W) {
            h[0] = new float[rows * spg * W];
        }
        float[] acc = h[0];
        for (int p = n0 / Panels.NR; p * Panels.NR < n1; p += GROUP) {
            java.util.Arrays.fill(acc, 0, rows * spg * W, 0f);
            for (int k0 = 0; k0 < k; k0 += KC) {
                int kc = Math.min(KC, k - k0);
                for (int g = 0; g < GROUP; g++) {
                    if (p + g < panels) {
                        wd.widen(p + g, k0, kc, ws, g * kc * Panels.NR);
                    } else {
                        java.util.Arrays.fill(ws, g * kc * Panels.NR, (g + 1) * kc * Panels.NR, 0f);
                    }
                }
                for (int si = 0; si < spg; si++) {
                    int s = si * W;
                    int off0 = (s / Panels.NR) * kc * Panels.NR + s % Panels.NR;
                    int off1 = ((s + L) / Panels.NR) * kc * Panels.NR + (s + L) % Panels.NR;
                    for (int r = 0; r < rows; r++) {
                        row1Acc(ap, r * k + k0, kc, ws, off0, off1, acc, (r * spg + si) * W);
                    }
                }
            }
            for (int si = 0; si < spg; si++) {
                int col0 = p * Panels.NR + si * W;
                if (col0 >= n1) {
                    break;
                }
                for (int r = 0; r < rows; r++) {
                    int o = (r * spg + si) * W;
                    store(acc, o, col0, n, n1, scale,
                            bias, act, c, m0 + r);
                }
            }
        }
    }

    /** One row over a chunk, added to {@code acc[o …]}; k unrolled by four to hide the FMA latency. */
    private static void row1Acc(float[] ap, int a0, int k, float[] ws, int off0, int off1, float[] acc, int o) {
        FloatVector z = FloatVector.zero(F);
        FloatVector c0 = FloatVector.fromArray(F, acc, o), c1 = FloatVector.fromArray(F, acc, o + L);
        FloatVector d0 = z, d1 = z, e0 = z, e1 = z, f0 = z, f1 = z;
        int kk = 0;
        for (; kk + 4 <= k; kk += 4) {
            int wo = kk * Panels.NR;
            FloatVector b = FloatVector.broadcast(F, ap[a0 + kk]);
            c0 = FloatVector.fromArray(F, ws, off0 + wo).fma(b, c0);
            c1 = FloatVector.fromArray(F, ws, off1 + wo).fma(b, c1);
            b = FloatVector.broadcast(F, ap[a0 + kk + 1]);
            d0 = FloatVector.fromArray(F, ws, off0 + wo + Panels.NR).fma(b, d0);
            d1 = FloatVector.fromArray(F, ws, off1 + wo + Panels.NR).fma(b, d1);
            b = FloatVector.broadcast(F, ap[a0 + kk + 2]);
            e0 = FloatVector.fromArray(F, ws, off0 + wo + 2 * Panels.NR).fma(b, e0);
            e1 = FloatVector.fromArray(F, ws, off1 + wo + 2 * Panels.NR).fma(b, e1);
            b = FloatVector.broadcast(F, ap[a0 + kk + 3]);
            f0 = FloatVector.fromArray(F, ws, off0 + wo + 3 * Panels.NR).fma(b, f0);
            f1 = FloatVector.fromArray(F, ws, off1 + wo + 3 * Panels.NR).fma(b, f1);
        }
        for (; kk < k; kk++) {
            int wo = kk * Panels.NR;
            FloatVector b = FloatVector.broadcast(F, ap[a0 + kk]);
            c0 = FloatVector.fromArray(F, ws, off0 + wo).fma(b, c0);
            c1 = FloatVector.fromArray(F, ws, off1 + wo).fma(b, c1);
        }
        c0.add(d0).add(e0.add(f0)).intoArray(acc, o);
        c1.add(d1).add(e1.add(f1)).intoArray(acc, o + L);
    }

    /** Six rows of A (a {@link #packTiles} tile at {@code ap[a0]}) times one strip; sums to {@code acc[o + r·W …]}. */
    private static void tile6(float[] ap, int a0, int k, float[] ws, int off0, int off1, float[] acc, int o,
            boolean load) {
        FloatVector z = FloatVector.zero(F);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z, c40 = z, c41 = z,
                c50 = z, c51 = z;
        if (load) {
            c00 = FloatVector.fromArray(F, acc, o + 0 * W);
            c01 = FloatVector.fromArray(F, acc, o + 0 * W + L);
            c10 = FloatVector.fromArray(F, acc, o + 1 * W);
            c11 = FloatVector.fromArray(F, acc, o + 1 * W + L);
            c20 = FloatVector.fromArray(F, acc, o + 2 * W);
            c21 = FloatVector.fromArray(F, acc, o + 2 * W + L);
            c30 = FloatVector.fromArray(F, acc, o + 3 * W);
            c31 = FloatVector.fromArray(F, acc, o + 3 * W + L);
            c40 = FloatVector.fromArray(F, acc, o + 4 * W);
            c41 = FloatVector.fromArray(F, acc, o + 4 * W + L);
            c50 = FloatVector.fromArray(F, acc, o + 5 * W);
            c51 = FloatVector.fromArray(F, acc, o + 5 * W + L);
        }
        for (int kk = 0; kk < k; kk++) {
            int wo = kk * Panels.NR;
            int ao = a0 + kk * 6;
            FloatVector w0 = FloatVector.fromArray(F, ws, off0 + wo);
            FloatVector w1 = FloatVector.fromArray(F, ws, off1 + wo);
            FloatVector b = FloatVector.broadcast(F, ap[ao]);
            c00 = w0.fma(b, c00);
            c01 = w1.fma(b, c01);
            b = FloatVector.broadcast(F, ap[ao + 1]);
            c10 = w0.fma(b, c10);
            c11 = w1.fma(b, c11);
            b = FloatVector.broadcast(F, ap[ao + 2]);
            c20 = w0.fma(b, c20);
            c21 = w1.fma(b, c21);
            b = FloatVector.broadcast(F, ap[ao + 3]);
            c30 = w0.fma(b, c30);
            c31 = w1.fma(b, c31);
            b = FloatVector.broadcast(F, ap[ao + 4]);
            c40 = w0.fma(b, c40);
            c41 = w1.fma(b, c41);
            b = FloatVector.broadcast(F, ap[ao + 5]);
            c50 = w0.fma(b, c50);
            c51 = w1.fma(b, c51);
        }
        c00.intoArray(acc, o);
        c01.intoArray(acc, o + L);
        c10.intoArray(acc, o + W);
        c11.intoArray(acc, o + W + L);
        c20.intoArray(acc, o + 2 * W);
        c21.intoArray(acc, o + 2 * W + L);
        c30.intoArray(acc, o + 3 * W);
        c31.intoArray(acc, o + 3 * W + L);
        c40.intoArray(acc, o + 4 * W);
        c41.intoArray(acc, o + 4 * W + L);
        c50.intoArray(acc, o + 5 * W);
        c51.intoArray(acc, o + 5 * W + L);
    }

    /** Eight rows of A times one strip, for 32-register ISAs (AVX-512): 16 accumulators. */
    private static void tile8(float[] ap, int a0, int k, float[] ws, int off0, int off1, float[] acc, int o,
            boolean load) {
        FloatVector z = FloatVector.zero(F);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z, c40 = z, c41 = z, c50 = z, c51 = z, c60 = z, c61 = z,
                c70 = z, c71 = z;
        if (load) {
            c00 = FloatVector.fromArray(F, acc, o + 0 * W);
            c01 = FloatVector.fromArray(F, acc, o + 0 * W + L);
            c10 = FloatVector.fromArray(F, acc, o + 1 * W);
            c11 = FloatVector.fromArray(F, acc, o + 1 * W + L);
            c20 = FloatVector.fromArray(F, acc, o + 2 * W);
            c21 = FloatVector.fromArray(F, acc, o + 2 * W + L);
            c30 = FloatVector.fromArray(F, acc, o + 3 * W);
            c31 = FloatVector.fromArray(F, acc, o + 3 * W + L);
            c40 = FloatVector.fromArray(F, acc, o + 4 * W);
            c41 = FloatVector.fromArray(F, acc, o + 4 * W + L);
            c50 = FloatVector.fromArray(F, acc, o + 5 * W);
            c51 = FloatVector.fromArray(F, acc, o + 5 * W + L);
            c60 = FloatVector.fromArray(F, acc, o + 6 * W);
            c61 = FloatVector.fromArray(F, acc, o + 6 * W + L);
            c70 = FloatVector.fromArray(F, acc, o + 7 * W);
            c71 = FloatVector.fromArray(F, acc, o + 7 * W + L);
        }
        for (int kk = 0; kk < k; kk++) {
            int wo = kk * Panels.NR;
            int ao = a0 + kk * 8;
            FloatVector w0 = FloatVector.fromArray(F, ws, off0 + wo);
            FloatVector w1 = FloatVector.fromArray(F, ws, off1 + wo);
            FloatVector b = FloatVector.broadcast(F, ap[ao]);
            c00 = w0.fma(b, c00);
            c01 = w1.fma(b, c01);
            b = FloatVector.broadcast(F, ap[ao + 1]);
            c10 = w0.fma(b, c10);
            c11 = w1.fma(b, c11);
            b = FloatVector.broadcast(F, ap[ao + 2]);
            c20 = w0.fma(b, c20);
            c21 = w1.fma(b, c21);
            b = FloatVector.broadcast(F, ap[ao + 3]);
            c30 = w0.fma(b, c30);
            c31 = w1.fma(b, c31);
            b = FloatVector.broadcast(F, ap[ao + 4]);
            c40 = w0.fma(b, c40);
            c41 = w1.fma(b, c41);
            b = FloatVector.broadcast(F, ap[ao + 5]);
            c50 = w0.fma(b, c50);
            c51 = w1.fma(b, c51);
            b = FloatVector.broadcast(F, ap[ao + 6]);
            c60 = w0.fma(b, c60);
            c61 = w1.fma(b, c61);
            b = FloatVector.broadcast(F, ap[ao + 7]);
            c70 = w0.fma(b, c70);
            c71 = w1.fma(b, c71);
        }
        c00.intoArray(acc, o + 0 * W);
        c01.intoArray(acc, o + 0 * W + L);
        c10.intoArray(acc, o + 1 * W);
        c11.intoArray(acc, o + 1 * W + L);
        c20.intoArray(acc, o + 2 * W);
        c21.intoArray(acc, o + 2 * W + L);
        c30.intoArray(acc, o + 3 * W);
        c31.intoArray(acc, o + 3 * W + L);
        c40.intoArray(acc, o + 4 * W);
        c41.intoArray(acc, o + 4 * W + L);
        c50.intoArray(acc, o + 5 * W);
        c51.intoArray(acc, o + 5 * W + L);
        c60.intoArray(acc, o + 6 * W);
        c61.intoArray(acc, o + 6 * W + L);
        c70.intoArray(acc, o + 7 * W);
        c71.intoArray(acc, o + 7 * W + L);
    }

    /**
     * Epilogue of one row of a strip: {@code act(acc · scale + bias)} in the scalar reference's operation
     * order (separate multiply and add), stored for channels {@code [col0, min(col0 + W, n1))}.
     */
    static void store(float[] acc, int o, int col0, int n, int n1, MemorySegment scale, MemorySegment bias,
            Activation act, MemorySegment c, int row) {
        // Vectors are loaded here, not passed in: a vector argument of a call C2 does not inline is boxed.
        store1(FloatVector.fromArray(F, acc, o), col0, n, n1, scale, bias, act, c, row);
        if (col0 + L < n1) {
            store1(FloatVector.fromArray(F, acc, o + L), col0 + L, n, n1, scale, bias, act, c, row);
        }
    }

    /** Epilogue of {@code L} channels {@code [col0, min(col0 + L, n1))} of one row. */
    static void store1(FloatVector v, int col0, int n, int n1, MemorySegment scale, MemorySegment bias,
            Activation act, MemorySegment c, int row) {
        long co = ((long) row * n + col0) * 4;
        if (col0 + L <= n1) {
            long so = (long) col0 * 4;
            if (scale != null) {
                v = v.mul(FloatVector.fromMemorySegment(F, scale, so, LE));
            }
            if (bias != null) {
                v = v.add(FloatVector.fromMemorySegment(F, bias, so, LE));
            }
            if (act == Activation.RELU) {
                v = relu(v);
            }
            v.intoMemorySegment(c, co, LE);
            if (act == Activation.GELU || act == Activation.GELU_TANH) {
                for (int j = 0; j < L; j++) {
                    long o = co + j * 4L;
                    c.set(JAVA_FLOAT_UNALIGNED, o, act.apply(c.get(JAVA_FLOAT_UNALIGNED, o)));
                }
            }
            return;
        }
        // Tail: scalar epilogue, the same expression as the reference.
        for (int j = 0; j < L && col0 + j < n1; j++) {
            int col = col0 + j;
            float x = v.lane(j);
            if (scale != null) {
                x = x * scale.getAtIndex(JAVA_FLOAT_UNALIGNED, col);
            }
            if (bias != null) {
                x += bias.getAtIndex(JAVA_FLOAT_UNALIGNED, col);
            }
            c.set(JAVA_FLOAT_UNALIGNED, co + j * 4L, act.apply(x));
        }
    }

    /** {@code x > 0 ? x : 0} per lane, as the reference (NaN and -0 become +0). */
    static FloatVector relu(FloatVector v) {
        VectorMask<Float> pos = v.compare(VectorOperators.GT, 0f);
        return FloatVector.zero(v.species()).blend(v, pos);
    }
}
