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
 * strip: 12 accumulators, two weight vectors and one broadcast fit the 16 registers of AVX2. With
 * {@code L = 16} a strip spans two panels, so groups hold two panels; with {@code L ≤ 8} one panel.
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
    private static final ThreadLocal<float[][]> AROWS = ThreadLocal.withInitial(() -> new float[1][0]);
    private static final ThreadLocal<float[]> ACC = ThreadLocal.withInitial(() -> new float[MR * W]);

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
     * Computes rows {@code [m0, m1)} of the channels held by the widened group {@code ws} (panels
     * {@code p0 … p0+GROUP-1}, each {@code k·16} floats in the panel layout), writing only channels below
     * {@code n1}. {@code ap} holds rows {@code [m0, m1)} of A ({@link #packRows}). {@code scale} (per channel,
     * optional) multiplies the accumulator before the bias.
     */
    static void group(float[] ap, int k, int n, float[] ws, int p0, int n1, MemorySegment scale,
            MemorySegment bias, Activation act, MemorySegment c, int m0, int m1) {
        int cols = GROUP * Panels.NR;
        float[] acc = ACC.get();
        for (int s = 0; s < cols; s += W) {
            int col0 = p0 * Panels.NR + s;
            if (col0 >= n1) {
                return;
            }
            // Offsets of the strip's two vectors in ws: inside one panel when L <= 8, one per panel when L = 16.
            int off0 = (s / Panels.NR) * k * Panels.NR + s % Panels.NR;
            int off1 = ((s + L) / Panels.NR) * k * Panels.NR + (s + L) % Panels.NR;
            int i = m0;
            for (; i + MR <= m1; i += MR) {
                if (MR == 8) {
                    tile8(ap, (i - m0) * k, k, ws, off0, off1, acc);
                } else {
                    tile6(ap, (i - m0) * k, k, ws, off0, off1, acc);
                }
                for (int r = 0; r < MR; r++) {
                    store(FloatVector.fromArray(F, acc, r * W), FloatVector.fromArray(F, acc, r * W + L), col0, n,
                            n1, scale, bias, act, c, i + r);
                }
            }
            for (; i < m1; i++) {
                row1(ap, (i - m0) * k, k, ws, off0, off1, acc);
                store(FloatVector.fromArray(F, acc, 0), FloatVector.fromArray(F, acc, L), col0, n, n1, scale, bias,
                        act, c, i);
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
                    store(FloatVector.fromArray(F, acc, o), FloatVector.fromArray(F, acc, o + L), col0, n, n1, scale,
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

    /** Six rows of A (from {@code ap[a0]}, stride k) times one strip; accumulators to {@code acc[r·W …]}. */
    private static void tile6(float[] ap, int a0, int k, float[] ws, int off0, int off1, float[] acc) {
        FloatVector z = FloatVector.zero(F);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z, c40 = z, c41 = z,
                c50 = z, c51 = z;
        int a1 = a0 + k, a2 = a1 + k, a3 = a2 + k, a4 = a3 + k, a5 = a4 + k;
        for (int kk = 0; kk < k; kk++) {
            int wo = kk * Panels.NR;
            FloatVector w0 = FloatVector.fromArray(F, ws, off0 + wo);
            FloatVector w1 = FloatVector.fromArray(F, ws, off1 + wo);
            FloatVector b = FloatVector.broadcast(F, ap[a0 + kk]);
            c00 = w0.fma(b, c00);
            c01 = w1.fma(b, c01);
            b = FloatVector.broadcast(F, ap[a1 + kk]);
            c10 = w0.fma(b, c10);
            c11 = w1.fma(b, c11);
            b = FloatVector.broadcast(F, ap[a2 + kk]);
            c20 = w0.fma(b, c20);
            c21 = w1.fma(b, c21);
            b = FloatVector.broadcast(F, ap[a3 + kk]);
            c30 = w0.fma(b, c30);
            c31 = w1.fma(b, c31);
            b = FloatVector.broadcast(F, ap[a4 + kk]);
            c40 = w0.fma(b, c40);
            c41 = w1.fma(b, c41);
            b = FloatVector.broadcast(F, ap[a5 + kk]);
            c50 = w0.fma(b, c50);
            c51 = w1.fma(b, c51);
        }
        c00.intoArray(acc, 0);
        c01.intoArray(acc, L);
        c10.intoArray(acc, W);
        c11.intoArray(acc, W + L);
        c20.intoArray(acc, 2 * W);
        c21.intoArray(acc, 2 * W + L);
        c30.intoArray(acc, 3 * W);
        c31.intoArray(acc, 3 * W + L);
        c40.intoArray(acc, 4 * W);
        c41.intoArray(acc, 4 * W + L);
        c50.intoArray(acc, 5 * W);
        c51.intoArray(acc, 5 * W + L);
    }

    /** Eight rows of A times one strip, for 32-register ISAs (AVX-512): 16 accumulators. */
    private static void tile8(float[] ap, int a0, int k, float[] ws, int off0, int off1, float[] acc) {
        FloatVector z = FloatVector.zero(F);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z, c40 = z, c41 = z,
                c50 = z, c51 = z, c60 = z, c61 = z, c70 = z, c71 = z;
        int a1 = a0 + k, a2 = a1 + k, a3 = a2 + k, a4 = a3 + k, a5 = a4 + k, a6 = a5 + k, a7 = a6 + k;
        for (int kk = 0; kk < k; kk++) {
            int wo = kk * Panels.NR;
            FloatVector w0 = FloatVector.fromArray(F, ws, off0 + wo);
            FloatVector w1 = FloatVector.fromArray(F, ws, off1 + wo);
            FloatVector b = FloatVector.broadcast(F, ap[a0 + kk]);
            c00 = w0.fma(b, c00);
            c01 = w1.fma(b, c01);
            b = FloatVector.broadcast(F, ap[a1 + kk]);
            c10 = w0.fma(b, c10);
            c11 = w1.fma(b, c11);
            b = FloatVector.broadcast(F, ap[a2 + kk]);
            c20 = w0.fma(b, c20);
            c21 = w1.fma(b, c21);
            b = FloatVector.broadcast(F, ap[a3 + kk]);
            c30 = w0.fma(b, c30);
            c31 = w1.fma(b, c31);
            b = FloatVector.broadcast(F, ap[a4 + kk]);
            c40 = w0.fma(b, c40);
            c41 = w1.fma(b, c41);
            b = FloatVector.broadcast(F, ap[a5 + kk]);
            c50 = w0.fma(b, c50);
            c51 = w1.fma(b, c51);
            b = FloatVector.broadcast(F, ap[a6 + kk]);
            c60 = w0.fma(b, c60);
            c61 = w1.fma(b, c61);
            b = FloatVector.broadcast(F, ap[a7 + kk]);
            c70 = w0.fma(b, c70);
            c71 = w1.fma(b, c71);
        }
        c00.intoArray(acc, 0 * W);
        c01.intoArray(acc, 0 * W + L);
        c10.intoArray(acc, 1 * W);
        c11.intoArray(acc, 1 * W + L);
        c20.intoArray(acc, 2 * W);
        c21.intoArray(acc, 2 * W + L);
        c30.intoArray(acc, 3 * W);
        c31.intoArray(acc, 3 * W + L);
        c40.intoArray(acc, 4 * W);
        c41.intoArray(acc, 4 * W + L);
        c50.intoArray(acc, 5 * W);
        c51.intoArray(acc, 5 * W + L);
        c60.intoArray(acc, 6 * W);
        c61.intoArray(acc, 6 * W + L);
        c70.intoArray(acc, 7 * W);
        c71.intoArray(acc, 7 * W + L);
    }

    /** One row; k unrolled by two with separate accumulators to hide the FMA latency. */
    private static void row1(float[] ap, int a0, int k, float[] ws, int off0, int off1, float[] acc) {
        FloatVector z = FloatVector.zero(F);
        FloatVector c0 = z, c1 = z, d0 = z, d1 = z;
        int kk = 0;
        for (; kk + 2 <= k; kk += 2) {
            int wo = kk * Panels.NR;
            FloatVector b = FloatVector.broadcast(F, ap[a0 + kk]);
            FloatVector e = FloatVector.broadcast(F, ap[a0 + kk + 1]);
            c0 = FloatVector.fromArray(F, ws, off0 + wo).fma(b, c0);
            c1 = FloatVector.fromArray(F, ws, off1 + wo).fma(b, c1);
            d0 = FloatVector.fromArray(F, ws, off0 + wo + Panels.NR).fma(e, d0);
            d1 = FloatVector.fromArray(F, ws, off1 + wo + Panels.NR).fma(e, d1);
        }
        if (kk < k) {
            int wo = kk * Panels.NR;
            FloatVector b = FloatVector.broadcast(F, ap[a0 + kk]);
            c0 = FloatVector.fromArray(F, ws, off0 + wo).fma(b, c0);
            c1 = FloatVector.fromArray(F, ws, off1 + wo).fma(b, c1);
        }
        c0.add(d0).intoArray(acc, 0);
        c1.add(d1).intoArray(acc, L);
    }

    /**
     * Epilogue of one row of a strip: {@code act(acc · scale + bias)} in the scalar reference's operation
     * order (separate multiply and add), stored for channels {@code [col0, min(col0 + W, n1))}.
     */
    static void store(FloatVector v0, FloatVector v1, int col0, int n, int n1, MemorySegment scale,
            MemorySegment bias, Activation act, MemorySegment c, int row) {
        store1(v0, col0, n, n1, scale, bias, act, c, row);
        if (col0 + L < n1) {
            store1(v1, col0 + L, n, n1, scale, bias, act, c, row);
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
