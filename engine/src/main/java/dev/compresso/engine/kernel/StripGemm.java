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
    /** Rows per register tile. */
    static final int MR = 6;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[1][0]);

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
     * Computes rows {@code [m0, m1)} of the channels held by the widened group {@code ws} (panels
     * {@code p0 … p0+GROUP-1}, each {@code k·16} floats in the panel layout), writing only channels below
     * {@code n1}. {@code scale} (per channel, optional) multiplies the accumulator before the bias.
     */
    static void group(MemorySegment a, int k, int n, float[] ws, int p0, int n1, MemorySegment scale,
            MemorySegment bias, Activation act, MemorySegment c, int m0, int m1) {
        int cols = GROUP * Panels.NR;
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
                tile6(a, k, n, ws, off0, off1, col0, n1, scale, bias, act, c, i);
            }
            for (; i < m1; i++) {
                row1(a, k, n, ws, off0, off1, col0, n1, scale, bias, act, c, i);
            }
        }
    }

    private static void tile6(MemorySegment a, int k, int n, float[] ws, int off0, int off1, int col0, int n1,
            MemorySegment scale, MemorySegment bias, Activation act, MemorySegment c, int i) {
        long rs = (long) k * 4;
        long r0 = (long) i * rs;
        FloatVector z = FloatVector.zero(F);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z, c40 = z, c41 = z,
                c50 = z, c51 = z;
        for (int kk = 0; kk < k; kk++) {
            int wo = kk * Panels.NR;
            FloatVector w0 = FloatVector.fromArray(F, ws, off0 + wo);
            FloatVector w1 = FloatVector.fromArray(F, ws, off1 + wo);
            long ao = r0 + (long) kk * 4;
            FloatVector b = FloatVector.broadcast(F, a.get(JAVA_FLOAT_UNALIGNED, ao));
            c00 = w0.fma(b, c00);
            c01 = w1.fma(b, c01);
            b = FloatVector.broadcast(F, a.get(JAVA_FLOAT_UNALIGNED, ao + rs));
            c10 = w0.fma(b, c10);
            c11 = w1.fma(b, c11);
            b = FloatVector.broadcast(F, a.get(JAVA_FLOAT_UNALIGNED, ao + 2 * rs));
            c20 = w0.fma(b, c20);
            c21 = w1.fma(b, c21);
            b = FloatVector.broadcast(F, a.get(JAVA_FLOAT_UNALIGNED, ao + 3 * rs));
            c30 = w0.fma(b, c30);
            c31 = w1.fma(b, c31);
            b = FloatVector.broadcast(F, a.get(JAVA_FLOAT_UNALIGNED, ao + 4 * rs));
            c40 = w0.fma(b, c40);
            c41 = w1.fma(b, c41);
            b = FloatVector.broadcast(F, a.get(JAVA_FLOAT_UNALIGNED, ao + 5 * rs));
            c50 = w0.fma(b, c50);
            c51 = w1.fma(b, c51);
        }
        store(c00, c01, col0, n, n1, scale, bias, act, c, i);
        store(c10, c11, col0, n, n1, scale, bias, act, c, i + 1);
        store(c20, c21, col0, n, n1, scale, bias, act, c, i + 2);
        store(c30, c31, col0, n, n1, scale, bias, act, c, i + 3);
        store(c40, c41, col0, n, n1, scale, bias, act, c, i + 4);
        store(c50, c51, col0, n, n1, scale, bias, act, c, i + 5);
    }

    /** One row; k unrolled by two with separate accumulators to hide the FMA latency. */
    private static void row1(MemorySegment a, int k, int n, float[] ws, int off0, int off1, int col0, int n1,
            MemorySegment scale, MemorySegment bias, Activation act, MemorySegment c, int i) {
        long r0 = (long) i * k * 4;
        FloatVector z = FloatVector.zero(F);
        FloatVector c0 = z, c1 = z, d0 = z, d1 = z;
        int kk = 0;
        for (; kk + 2 <= k; kk += 2) {
            int wo = kk * Panels.NR;
            FloatVector b = FloatVector.broadcast(F, a.get(JAVA_FLOAT_UNALIGNED, r0 + (long) kk * 4));
            FloatVector e = FloatVector.broadcast(F, a.get(JAVA_FLOAT_UNALIGNED, r0 + (long) kk * 4 + 4));
            c0 = FloatVector.fromArray(F, ws, off0 + wo).fma(b, c0);
            c1 = FloatVector.fromArray(F, ws, off1 + wo).fma(b, c1);
            d0 = FloatVector.fromArray(F, ws, off0 + wo + Panels.NR).fma(e, d0);
            d1 = FloatVector.fromArray(F, ws, off1 + wo + Panels.NR).fma(e, d1);
        }
        if (kk < k) {
            int wo = kk * Panels.NR;
            FloatVector b = FloatVector.broadcast(F, a.get(JAVA_FLOAT_UNALIGNED, r0 + (long) kk * 4));
            c0 = FloatVector.fromArray(F, ws, off0 + wo).fma(b, c0);
            c1 = FloatVector.fromArray(F, ws, off1 + wo).fma(b, c1);
        }
        store(c0.add(d0), c1.add(d1), col0, n, n1, scale, bias, act, c, i);
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
