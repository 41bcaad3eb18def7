package dev.compresso.engine.kernel;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED;

import dev.compresso.engine.weights.Int8Panels;
import dev.compresso.engine.weights.Panels;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.Arrays;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API int8 GEMM: W8A32 (fp32 activations, weights widened in registers) and W8A8 (int8 activations,
 * exact int32 accumulation), and the activation quantizers.
 *
 * <p>W8A32 with few rows ({@link #GEMV_ROWS}) streams the panels and widens bytes straight into FMAs
 * ({@code Byte128 → B2F part 0 → Float512}, or two {@code Byte64} loads per panel row for 8 lanes; the GEMV is
 * bandwidth-bound: 16 MiB instead of 64 at 4096x4096, measured 3.8x the fp32 GEMV). With more rows it widens a
 * group of panels once into an fp32 scratch (a {@code byte[]} copy and a plain loop that C2 vectorizes: faster
 * than the Vector API conversion) and runs the {@link StripGemm} micro-kernel, where the widening is amortized
 * over all rows: on par with the fp32 GEMM. The per-channel scale is applied once, in the epilogue.
 *
 * <p>W8A8 repacks a group of panels into 16-bit k-pairs {@code (w[j][2p], w[j][2p+1])} so one 16-bit multiply
 * by the broadcast activation pair gives two products per 32-bit lane; the two are summed inside the lane
 * ({@code v + (v << 16)}, top half) where their int16 sum cannot overflow (|a| ≤ 127, |w| ≤ 128 →
 * |sum| ≤ 32512), then sign-extended and accumulated in int32: exact, with no saturation. That is five
 * integer operations per 32 products against two FMAs for W8A32 (the Vector API has no VPMADDUBSW/VPDPBUSD),
 * so W8A8 runs at about half the W8A32 speed and {@link Kernels#resolve} never picks it; it backs the static
 * (calibrated) activation mode.
 *
 * <p>Vector values never cross a call C2 might not inline (they would be boxed): tiles spill their
 * accumulators to an array and the epilogue reloads them; the products are written out in the tile loops.
 */
final class Int8Vector {
    private static final VectorSpecies<Float> F = StripGemm.F;
    private static final int L = StripGemm.L;
    /** Bytes widened per load: 8 for L ≤ 8 (part 0 then part 1 when L = 4), 16 for L = 16. */
    private static final VectorSpecies<Byte> B = L >= 16 ? ByteVector.SPECIES_128 : ByteVector.SPECIES_64;
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, F.vectorShape());
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final int NR = Panels.NR;
    /**
     * Row counts up to this stream the panels directly (no scratch): one pass over the weights per row, which
     * beats widening once when there are only a couple of rows.
     */
    static final int GEMV_ROWS = 2;
    /** Rows per W8A8 register tile. */
    private static final int MR8 = 4;

    private static final ThreadLocal<byte[][]> BYTES = ThreadLocal.withInitial(() -> new byte[1][0]);
    private static final ThreadLocal<short[][]> PAIRS = ThreadLocal.withInitial(() -> new short[1][0]);
    private static final ThreadLocal<int[]> ACC8 = ThreadLocal.withInitial(() -> new int[MR8 * 2 * L]);
    private static final ThreadLocal<int[][]> APAIRS = ThreadLocal.withInitial(() -> new int[1][0]);

    private Int8Vector() {}

    // ---------------------------------------------------------------------------------------------- W8A32

    static void w8a32(MemorySegment a, Int8Panels w, MemorySegment bias, Activation act, MemorySegment c,
            int m0, int m1, int n0, int n1) {
        int k = w.inFeatures(), n = w.outFeatures();
        MemorySegment d = w.data();
        if (m1 - m0 <= GEMV_ROWS && L >= 8) {
            for (int i = m0; i < m1; i++) {
                if (L == 8) {
                    gemv8(a, k, n, d, w.scales(), bias, act, c, i, n0, n1);
                } else {
                    gemv16(a, k, n, d, w.scales(), bias, act, c, i, n0, n1);
                }
            }
            return;
        }
        int panels = Panels.panelCount(n);
        int pk = k * NR;
        if (m1 - m0 <= GEMV_ROWS) {
            // 4-lane floats: no single-load widening, so widen L1-sized chunks.
            StripGemm.fewRows(StripGemm.packRows(a, k, m0, m1), k, n, panels, (q, k0, kc, ws, wo) -> widen(d, ((long) q * k + k0) * NR, ws, wo,
                    kc * NR), w.scales(), bias, act, c, m0, m1, n0, n1);
            return;
        }
        float[] ws = StripGemm.scratch(StripGemm.GROUP * pk);
        float[] ap = StripGemm.packTiles(a, k, m0, m1);
        for (int p = n0 / NR; p * NR < n1; p += StripGemm.GROUP) {
            for (int g = 0; g < StripGemm.GROUP; g++) {
                if (p + g < panels) {
                    widen(d, (long) (p + g) * pk, ws, g * pk, pk);
                } else {
                    Arrays.fill(ws, g * pk, (g + 1) * pk, 0f);
                }
            }
            StripGemm.group(ap, k, n, ws, p, n1, w.scales(), bias, act, c, m0, m1);
        }
    }

    /**
     * Widens {@code count} bytes at {@code off} into floats at {@code ws[wo]}: a bulk copy to a {@code byte[]}
     * and a plain conversion loop, which C2 vectorizes (measured 4x faster than Vector API {@code B2F}
     * conversions here: ~0.3 vs 1.1 us per 12 K elements).
     */
    static void widen(MemorySegment d, long off, float[] ws, int wo, int count) {
        byte[][] h = BYTES.get();
        if (h[0].length < count) {
            h[0] = new byte[count];
        }
        byte[] t = h[0];
        MemorySegment.copy(d, JAVA_BYTE, off, t, 0, count);
        for (int i = 0; i < count; i++) {
            ws[wo + i] = t[i];
        }
    }

    /** One row, 16-lane floats: one Byte128 load widens to a whole panel row; k unrolled by 4. */
    private static void gemv16(MemorySegment a, int k, int n, MemorySegment d, MemorySegment scale,
            MemorySegment bias, Activation act, MemorySegment c, int i, int n0, int n1) {
        float[] ap = StripGemm.packRows(a, k, i, i + 1);
        int col0 = n0;
        // Two panels per pass share the activation broadcasts; k unrolled by two for four FMA chains.
        for (; col0 + NR < n1; col0 += 2 * NR) {
            long base0 = (long) (col0 / NR) * k * NR, base1 = base0 + (long) k * NR;
            FloatVector z = FloatVector.zero(F);
            FloatVector c0 = z, c1 = z, e0 = z, e1 = z;
            int kk = 0;
            for (; kk + 2 <= k; kk += 2) {
                long wo = (long) kk * NR;
                FloatVector x = FloatVector.broadcast(F, ap[kk]);
                FloatVector y = FloatVector.broadcast(F, ap[kk + 1]);
                c0 = widenAt(d, base0 + wo).fma(x, c0);
                e0 = widenAt(d, base1 + wo).fma(x, e0);
                c1 = widenAt(d, base0 + wo + NR).fma(y, c1);
                e1 = widenAt(d, base1 + wo + NR).fma(y, e1);
            }
            if (kk < k) {
                long wo = (long) kk * NR;
                FloatVector x = FloatVector.broadcast(F, ap[kk]);
                c0 = widenAt(d, base0 + wo).fma(x, c0);
                e0 = widenAt(d, base1 + wo).fma(x, e0);
            }
            StripGemm.store1(c0.add(c1), col0, n, n1, scale, bias, act, c, i);
            StripGemm.store1(e0.add(e1), col0 + NR, n, n1, scale, bias, act, c, i);
        }
        for (; col0 < n1; col0 += NR) {
            long base = (long) (col0 / NR) * k * NR;
            FloatVector z = FloatVector.zero(F);
            FloatVector c0 = z, c1 = z, c2 = z, c3 = z;
            int kk = 0;
            for (; kk + 4 <= k; kk += 4) {
                long wo = base + (long) kk * NR;
                c0 = widenAt(d, wo).fma(FloatVector.broadcast(F, ap[kk]), c0);
                c1 = widenAt(d, wo + NR).fma(FloatVector.broadcast(F, ap[kk + 1]), c1);
                c2 = widenAt(d, wo + 2 * NR).fma(FloatVector.broadcast(F, ap[kk + 2]), c2);
                c3 = widenAt(d, wo + 3 * NR).fma(FloatVector.broadcast(F, ap[kk + 3]), c3);
            }
            for (; kk < k; kk++) {
                c0 = widenAt(d, base + (long) kk * NR).fma(FloatVector.broadcast(F, ap[kk]), c0);
            }
            StripGemm.store1(c0.add(c1).add(c2.add(c3)), col0, n, n1, scale, bias, act, c, i);
        }
    }

    /** {@code L} weights at byte {@code off} widened to fp32 (always part 0 of the load). */
    private static FloatVector widenAt(MemorySegment d, long off) {
        return (FloatVector) ByteVector.fromMemorySegment(B, d, off, LE).convertShape(VectorOperators.B2F, F, 0);
    }

    /** One row, 8-lane floats: two Byte64 loads per panel row, each widened from part 0; k unrolled by 2. */
    private static void gemv8(MemorySegment a, int k, int n, MemorySegment d, MemorySegment scale,
            MemorySegment bias, Activation act, MemorySegment c, int i, int n0, int n1) {
        float[] ap = StripGemm.packRows(a, k, i, i + 1);
        for (int col0 = n0; col0 < n1; col0 += NR) {
            long base = (long) (col0 / NR) * k * NR;
            FloatVector z = FloatVector.zero(F);
            FloatVector c0 = z, c1 = z, d0 = z, d1 = z;
            int kk = 0;
            for (; kk + 2 <= k; kk += 2) {
                long wo = base + (long) kk * NR;
                FloatVector x = FloatVector.broadcast(F, ap[kk]);
                FloatVector y = FloatVector.broadcast(F, ap[kk + 1]);
                c0 = widenAt(d, wo).fma(x, c0);
                c1 = widenAt(d, wo + 8).fma(x, c1);
                d0 = widenAt(d, wo + NR).fma(y, d0);
                d1 = widenAt(d, wo + NR + 8).fma(y, d1);
            }
            if (kk < k) {
                long wo = base + (long) kk * NR;
                FloatVector x = FloatVector.broadcast(F, ap[kk]);
                c0 = widenAt(d, wo).fma(x, c0);
                c1 = widenAt(d, wo + 8).fma(x, c1);
            }
            StripGemm.store1(c0.add(d0), col0, n, n1, scale, bias, act, c, i);
            if (col0 + L < n1) {
                StripGemm.store1(c1.add(d1), col0 + L, n, n1, scale, bias, act, c, i);
            }
        }
    }

    // ----------------------------------------------------------------------------------------------- W8A8

    static void w8a8(MemorySegment aq, MemorySegment aScale, Int8Panels w, MemorySegment bias, Activation act,
            MemorySegment c, int m0, int m1, int n0, int n1) {
        int k = w.inFeatures(), n = w.outFeatures();
        int pairs = (k + 1) / 2;
        int[] ap = activationPairs(aq, k, pairs, m0, m1);
        int group = StripGemm.GROUP;
        int pp = pairs * 2 * NR; // shorts per repacked panel
        short[][] h = PAIRS.get();
        if (h[0].length < group * pp) {
            h[0] = new short[group * pp];
        }
        short[] ws = h[0];
        int[] acc = ACC8.get();
        int panels = Panels.panelCount(n);
        MemorySegment d = w.data();
        for (int p = n0 / NR; p * NR < n1; p += group) {
            for (int g = 0; g < group; g++) {
                if (p + g < panels) {
                    repackPairs(d, k, p + g, ws, g * pp);
                } else {
                    Arrays.fill(ws, g * pp, (g + 1) * pp, (short) 0);
                }
            }
            for (int s = 0; s < group * NR; s += 2 * L) {
                int col0 = p * NR + s;
                if (col0 >= n1) {
                    break;
                }
                // Offsets of the strip's two int vectors: 2 shorts per channel, one block of pp per panel.
                int off0 = (s / NR) * pp + (s % NR) * 2;
                int off1 = ((s + L) / NR) * pp + ((s + L) % NR) * 2;
                int i = m0;
                for (; i + MR8 <= m1; i += MR8) {
                    tile8x4(ap, (i - m0) * pairs, pairs, ws, off0, off1, acc);
                    for (int r = 0; r < MR8; r++) {
                        store8(IntVector.fromArray(I, acc, 2 * r * L), IntVector.fromArray(I, acc, (2 * r + 1) * L),
                                aScale, w.scales(), bias, act, c, n, col0, n1, i + r);
                    }
                }
                for (; i < m1; i++) {
                    row8(ap, (i - m0) * pairs, pairs, ws, off0, off1, acc);
                    store8(IntVector.fromArray(I, acc, 0), IntVector.fromArray(I, acc, L), aScale, w.scales(), bias,
                            act, c, n, col0, n1, i);
                }
            }
        }
    }

    /** Activation k-pairs of rows {@code [m0, m1)}: {@code (a[2p+1] << 16) | (a[2p] & 0xffff)}. */
    private static int[] activationPairs(MemorySegment aq, int k, int pairs, int m0, int m1) {
        int[][] h = APAIRS.get();
        int size = (m1 - m0) * pairs;
        if (h[0].length < size) {
            h[0] = new int[size];
        }
        int[] ap = h[0];
        for (int i = m0; i < m1; i++) {
            long r = (long) i * k;
            int o = (i - m0) * pairs;
            int p = 0;
            for (; 2 * p + 1 < k; p++) {
                int lo = aq.get(JAVA_BYTE, r + 2 * p), hi = aq.get(JAVA_BYTE, r + 2 * p + 1);
                ap[o + p] = (hi << 16) | (lo & 0xffff);
            }
            if (p < pairs) {
                ap[o + p] = aq.get(JAVA_BYTE, r + 2 * p) & 0xffff;
            }
        }
        return ap;
    }

    /** Panel {@code q} as 16-bit k-pairs: {@code ws[wo + (p·16 + j)·2 + t] = W[q·16+j][2p+t]}, 0 past K. */
    private static void repackPairs(MemorySegment d, int k, int q, short[] ws, int wo) {
        long base = (long) q * k * NR;
        int pairs = (k + 1) / 2;
        for (int p = 0; p < pairs; p++) {
            int o = wo + p * 2 * NR;
            long r0 = base + (long) (2 * p) * NR;
            boolean second = 2 * p + 1 < k;
            if (L == B.length()) {
                // One int lane per channel holds its pair: (w[2p+1] << 16) | (w[2p] & 0xffff), little-endian shorts.
                for (int j = 0; j < NR; j += L) {
                    IntVector lo = ((IntVector) ByteVector.fromMemorySegment(B, d, r0 + j, LE)
                            .convertShape(VectorOperators.B2I, I, 0)).and(0xffff);
                    if (second) {
                        IntVector hi = ((IntVector) ByteVector.fromMemorySegment(B, d, r0 + NR + j, LE)
                                .convertShape(VectorOperators.B2I, I, 0)).lanewise(VectorOperators.LSHL, 16);
                        lo = lo.or(hi);
                    }
                    ((ShortVector) lo.reinterpretShape(S, 0)).intoArray(ws, o + 2 * j);
                }
            } else {
                for (int j = 0; j < NR; j++) {
                    ws[o + 2 * j] = d.get(JAVA_BYTE, r0 + j);
                    ws[o + 2 * j + 1] = second ? d.get(JAVA_BYTE, r0 + NR + j) : 0;
                }
            }
        }
    }

    /** Four rows times one strip; accumulators go to {@code acc[r·2L …]} (keeps the loop small for C2). */
    private static void tile8x4(int[] ap, int a0, int pairs, short[] ws, int off0, int off1, int[] acc) {
        IntVector z = IntVector.zero(I);
        IntVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z;
        int a1 = a0 + pairs, a2 = a1 + pairs, a3 = a2 + pairs;
        for (int p = 0; p < pairs; p++) {
            int o = p * 2 * NR;
            ShortVector w0 = ShortVector.fromArray(S, ws, off0 + o);
            ShortVector w1 = ShortVector.fromArray(S, ws, off1 + o);
            // Two exact products per int lane, summed in the top 16 bits (cannot overflow, see class doc),
            // sign-extended and accumulated. Written out: a helper method was not reliably inlined.
            IntVector v;
            ShortVector x = (ShortVector) IntVector.broadcast(I, ap[a0 + p]).reinterpretShape(S, 0);
            v = (IntVector) w0.mul(x).reinterpretShape(I, 0);
            c00 = c00.add(v.add(v.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16));
            v = (IntVector) w1.mul(x).reinterpretShape(I, 0);
            c01 = c01.add(v.add(v.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16));
            x = (ShortVector) IntVector.broadcast(I, ap[a1 + p]).reinterpretShape(S, 0);
            v = (IntVector) w0.mul(x).reinterpretShape(I, 0);
            c10 = c10.add(v.add(v.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16));
            v = (IntVector) w1.mul(x).reinterpretShape(I, 0);
            c11 = c11.add(v.add(v.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16));
            x = (ShortVector) IntVector.broadcast(I, ap[a2 + p]).reinterpretShape(S, 0);
            v = (IntVector) w0.mul(x).reinterpretShape(I, 0);
            c20 = c20.add(v.add(v.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16));
            v = (IntVector) w1.mul(x).reinterpretShape(I, 0);
            c21 = c21.add(v.add(v.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16));
            x = (ShortVector) IntVector.broadcast(I, ap[a3 + p]).reinterpretShape(S, 0);
            v = (IntVector) w0.mul(x).reinterpretShape(I, 0);
            c30 = c30.add(v.add(v.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16));
            v = (IntVector) w1.mul(x).reinterpretShape(I, 0);
            c31 = c31.add(v.add(v.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16));
        }
        c00.intoArray(acc, 0);
        c01.intoArray(acc, L);
        c10.intoArray(acc, 2 * L);
        c11.intoArray(acc, 3 * L);
        c20.intoArray(acc, 4 * L);
        c21.intoArray(acc, 5 * L);
        c30.intoArray(acc, 6 * L);
        c31.intoArray(acc, 7 * L);
    }

    private static void row8(int[] ap, int a0, int pairs, short[] ws, int off0, int off1, int[] acc) {
        IntVector z = IntVector.zero(I);
        IntVector c0 = z, c1 = z;
        for (int p = 0; p < pairs; p++) {
            int o = p * 2 * NR;
            ShortVector x = (ShortVector) IntVector.broadcast(I, ap[a0 + p]).reinterpretShape(S, 0);
            IntVector v = (IntVector) ShortVector.fromArray(S, ws, off0 + o).mul(x).reinterpretShape(I, 0);
            c0 = c0.add(v.add(v.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16));
            v = (IntVector) ShortVector.fromArray(S, ws, off1 + o).mul(x).reinterpretShape(I, 0);
            c1 = c1.add(v.add(v.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16));
        }
        c0.intoArray(acc, 0);
        c1.intoArray(acc, L);
    }

    /**
     * Epilogue {@code act(acc · (aScale[row] · wScale[col]) + bias)} with the reference's operation order: the
     * int32 → fp32 conversion and each multiply and add round exactly as the scalar code does.
     */
    private static void store8(IntVector v0, IntVector v1, MemorySegment aScale, MemorySegment wScale,
            MemorySegment bias, Activation act, MemorySegment c, int n, int col0, int n1, int row) {
        float as = aScale.getAtIndex(JAVA_FLOAT_UNALIGNED, row);
        store8one(v0, as, wScale, bias, act, c, n, col0, n1, row);
        if (col0 + L < n1) {
            store8one(v1, as, wScale, bias, act, c, n, col0 + L, n1, row);
        }
    }

    private static void store8one(IntVector acc, float as, MemorySegment wScale, MemorySegment bias,
            Activation act, MemorySegment c, int n, int col0, int n1, int row) {
        long co = ((long) row * n + col0) * 4;
        if (col0 + L <= n1) {
            long so = (long) col0 * 4;
            FloatVector sc = FloatVector.broadcast(F, as).mul(FloatVector.fromMemorySegment(F, wScale, so, LE));
            FloatVector v = ((FloatVector) acc.convert(VectorOperators.I2F, 0)).mul(sc);
            if (bias != null) {
                v = v.add(FloatVector.fromMemorySegment(F, bias, so, LE));
            }
            if (act == Activation.RELU) {
                v = StripGemm.relu(v);
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
        for (int j = 0; j < L && col0 + j < n1; j++) {
            int col = col0 + j;
            float x = acc.lane(j) * (as * wScale.getAtIndex(JAVA_FLOAT_UNALIGNED, col));
            if (bias != null) {
                x += bias.getAtIndex(JAVA_FLOAT_UNALIGNED, col);
            }
            c.set(JAVA_FLOAT_UNALIGNED, co + j * 4L, act.apply(x));
        }
    }

    // ------------------------------------------------------------------------------------------ quantize

    static void quantizeRows(MemorySegment a, int k, MemorySegment aq, MemorySegment aScale, int m0, int m1) {
        int step = F.length();
        for (int i = m0; i < m1; i++) {
            long r = (long) i * k;
            FloatVector mv = FloatVector.zero(F);
            int kk = 0;
            for (; kk + step <= k; kk += step) {
                mv = mv.max(FloatVector.fromMemorySegment(F, a, (r + kk) * 4, LE).abs());
            }
            float max = mv.reduceLanes(VectorOperators.MAX);
            for (; kk < k; kk++) {
                max = Math.max(max, Math.abs(a.getAtIndex(JAVA_FLOAT_UNALIGNED, r + kk)));
            }
            aScale.setAtIndex(JAVA_FLOAT_UNALIGNED, i, max / 127f);
            float inv = max == 0f ? 0f : 127f / max;
            quantizeRow(a, r, k, inv, null, aq);
        }
    }

    static void quantizeRowsStaticChannels(MemorySegment a, int k, float[] inv, MemorySegment aq, int m0, int m1) {
        for (int i = m0; i < m1; i++) {
            quantizeRow(a, (long) i * k, k, 0f, inv, aq);
        }
    }

    static void quantizeRowsStatic(MemorySegment a, int k, float scale, MemorySegment aq, int m0, int m1) {
        float inv = 1f / scale;
        for (int i = m0; i < m1; i++) {
            quantizeRow(a, (long) i * k, k, inv, null, aq);
        }
    }

    /**
     * {@code aq[r + j] = clamp(Math.round(a[r + j] · inv), -127, 127)}, bit-identical to the scalar loop: the
     * product is clamped first (which does not change the clamped result), NaN becomes 0 as
     * {@code Math.round} makes it, and rounding is done exactly as truncation plus a correction from the exact
     * fraction ({@code x + 0.5f} would round wrongly just below one half). With {@code invs} (one inverse scale
     * per channel) {@code inv} is ignored.
     */
    private static void quantizeRow(MemorySegment a, long r, int k, float inv, float[] invs, MemorySegment aq) {
        int kk = 0;
        if (L >= 8) {
            for (; kk + L <= k; kk += L) {
                FloatVector x = FloatVector.fromMemorySegment(F, a, (r + kk) * 4, LE);
                x = invs == null ? x.mul(inv) : x.mul(FloatVector.fromArray(F, invs, kk));
                x = x.blend(0f, x.test(VectorOperators.IS_NAN)).max(-127f).min(127f);
                IntVector t = (IntVector) x.convert(VectorOperators.F2I, 0);
                FloatVector frac = x.sub((FloatVector) t.convert(VectorOperators.I2F, 0));
                VectorMask<Integer> up = frac.compare(VectorOperators.GE, 0.5f).cast(I);
                VectorMask<Integer> down = frac.compare(VectorOperators.LT, -0.5f).cast(I);
                t = t.add(1, up).sub(1, down);
                ((ByteVector) t.convertShape(VectorOperators.I2B, B, 0)).intoMemorySegment(aq, r + kk, LE);
            }
        }
        for (; kk < k; kk++) {
            int q = Math.round(a.getAtIndex(JAVA_FLOAT_UNALIGNED, r + kk) * (invs == null ? inv : invs[kk]));
            aq.set(JAVA_BYTE, r + kk, (byte) Math.max(-127, Math.min(127, q)));
        }
    }
}
