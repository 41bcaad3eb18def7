package dev.compresso.engine.kernel;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

import dev.compresso.engine.weights.CsrMatrix;
import dev.compresso.engine.weights.Nm24Matrix;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API kernels for {@link Nm24Matrix} (2:4 sparse weights).
 *
 * <p>Several rows: as {@link CsrVector}, {@code A} is transposed into aligned blocks {@code Aᵀ[4G][RB]} (K padded
 * with zero rows to whole groups) and each stored value is a broadcast-FMA over {@code RB} rows. Positions come
 * from the packed nibbles (no row pointers, no column indices: {@code 4g + pos}), one index byte serves two
 * groups, and the per-channel count is fixed.
 *
 * <p>One row (and 2, 3): lanes are channels, as in the dense GEMV. For each group a window of the activation row
 * {@code x[4g0 .. 4g0 + VL)} is loaded once per {@code VL/4} groups and each slot's activations are picked per
 * lane with one {@code selectFrom} (a permute) driven by the nibbles, then one FMA with the stored values. One
 * int vector load brings the nibbles of eight groups. Needs 8 or 16 float lanes; other widths take the row-block
 * path.
 */
final class Nm24Vector {
    private Nm24Vector() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final java.nio.ByteOrder LE = java.nio.ByteOrder.LITTLE_ENDIAN;
    private static final int VL = S.length();
    private static final int P = Nm24Matrix.PANEL;
    /** Row vectors per Aᵀ block: 4, or 2 when CSR is switched to 2. */
    private static final int NV = CsrVector.NV == 2 ? 2 : 4;
    private static final int RB = NV * VL;
    private static final long RB4 = 4L * RB, V4 = 4L * VL;
    /** Groups covered by one window of {@code VL} activations. */
    private static final int GW = VL / 4;
    /** The one-row path: {@code VL/4} groups per window, whole pairs of groups in one, a panel in whole vectors. */
    private static final boolean LANES = (VL == 8 || VL == 16) && P % VL == 0;
    private static final VectorSpecies<Integer> IS = LANES ? VectorSpecies.of(int.class, S.vectorShape()) : null;
    /**
     * Groups per K chunk of the row-block path (even; tuning switch {@code compresso.nm24.groups}): 16 groups
     * are 16 KiB of a 64-row {@code Aᵀ} block.
     */
    private static final int KG = Math.max(2, Integer.getInteger("compresso.nm24.groups", 16) & ~1);

    static void nm24(MemorySegment a, Nm24Matrix w, MemorySegment bias, Activation act, MemorySegment c,
            int m0, int m1, int n0, int n1) {
        if (m1 <= m0 || n1 <= n0) {
            return;
        }
        CsrVector.Scratch s = CsrVector.scratch();
        int kp = 4 * Nm24Matrix.groups(w.inFeatures());
        boolean huge = (long) RB * kp > Integer.MAX_VALUE / 2; // Aᵀ blocks are int-indexed heap scratch
        if (LANES && (m1 - m0 < CsrVector.GEMV_ROWS || huge)) {
            for (int i = m0; i < m1; i++) {
                gemvRow(a, w, bias, act, c, i, n0, n1, s);
            }
        } else if (huge) {
            ScalarKernels.INSTANCE.nm24(a, w, bias, act, c, m0, m1, n0, n1);
        } else {
            blocks(a, w, bias, act, c, m0, m1, n0, n1, s);
        }
    }

    /** Copies the values of panels {@code [p0, p1)} into {@code s.vals} as fp32 (int8 left unscaled). */
    private static void widenValues(Nm24Matrix w, int p0, int p1, CsrVector.Scratch s) {
        int per = Nm24Matrix.groups(w.inFeatures()) * 2 * P;
        int len = (p1 - p0) * per;
        s.nnz(len);
        long e0 = (long) p0 * per;
        MemorySegment v = w.values();
        float[] out = s.vals;
        switch (w.valueType()) {
            case FP32 -> MemorySegment.copy(v, JAVA_FLOAT_UNALIGNED, e0 * 4, out, 0, len);
            case FP16 -> {
                for (int i = 0; i < len; i++) {
                    out[i] = Float.float16ToFloat(v.getAtIndex(JAVA_SHORT_UNALIGNED, e0 + i));
                }
            }
            case INT8 -> {
                for (int i = 0; i < len; i++) {
                    out[i] = v.get(JAVA_BYTE, e0 + i);
                }
            }
        }
    }

    private static float outScale(Nm24Matrix w, int j) {
        return w.rowScales() == null ? 1f : w.rowScales().getAtIndex(JAVA_FLOAT_UNALIGNED, j);
    }

    // ---------------------------------------------------------------- one row at a time

    private static void gemvRow(MemorySegment a, Nm24Matrix w, MemorySegment bias, Activation act,
            MemorySegment c, int i, int n0, int n1, CsrVector.Scratch s) {
        int k = w.inFeatures(), n = w.outFeatures();
        int g = Nm24Matrix.groups(k), g8 = Nm24Matrix.octets(g);
        // x padded with zeros to whole windows: the last window may reach past the last group.
        int xl = (g + GW - 1) / GW * VL;
        float[] x = s.x(xl);
        MemorySegment.copy(a, JAVA_FLOAT_UNALIGNED, (long) i * k * 4, x, 0, k);
        java.util.Arrays.fill(x, k, xl, 0f);
        float[] out = s.out(n1 - n0);
        boolean direct = w.valueType() == CsrMatrix.ValueType.FP32;
        MemorySegment idx = w.indices(), vals = w.values();
        int pa = n0 / P, pb = (n1 + P - 1) / P;
        for (int p = pa; p < pb; p++) {
            long vb = 0; // byte offset of the panel's values in the segment (fp32), else they are in s.vals
            if (direct) {
                vb = (long) p * g * 2 * P * 4;
            } else {
                widenValues(w, p, p + 1, s);
            }
            float[] hv = s.vals;
            for (int h = 0; h < P; h += VL) {
                FloatVector acc0 = FloatVector.zero(S), acc1 = acc0, acc2 = acc0, acc3 = acc0;
                long ib = ((long) p * g8 * P + h) * 4;
                int grp = 0;
                // Pairs of groups; a window of VL activations holds both (GW is even). No vector is carried
                // from one iteration to the next but the accumulators: a conditionally reloaded window or
                // index word kept C2 from keeping them in registers (70 against 43 µs at 1x1536x384).
                for (; grp + 1 < g; grp += 2) {
                    IntVector b = IntVector.fromMemorySegment(IS, idx, ib + (long) (grp >> 3) * P * 4, LE)
                            .lanewise(VectorOperators.LSHR, 4 * (grp & 7));
                    int wi = 4 * (grp % GW);
                    IntVector xi = FloatVector.fromArray(S, x, 4 * grp - wi).reinterpretAsInts();
                    IntVector i0 = b.and(3).add(wi), i1 = b.lanewise(VectorOperators.LSHR, 2).and(3).add(wi);
                    IntVector i2 = b.lanewise(VectorOperators.LSHR, 4).and(3).add(wi + 4);
                    IntVector i3 = b.lanewise(VectorOperators.LSHR, 6).and(3).add(wi + 4);
                    long e = (long) grp * 2 * P + h; // element of slot 0 of group grp within the panel
                    FloatVector v0, v1, v2, v3;
                    if (direct) {
                        long o = vb + e * 4;
                        v0 = FloatVector.fromMemorySegment(S, vals, o, LE);
                        v1 = FloatVector.fromMemorySegment(S, vals, o + 4 * P, LE);
                        v2 = FloatVector.fromMemorySegment(S, vals, o + 8 * P, LE);
                        v3 = FloatVector.fromMemorySegment(S, vals, o + 12 * P, LE);
                    } else {
                        v0 = FloatVector.fromArray(S, hv, (int) e);
                        v1 = FloatVector.fromArray(S, hv, (int) e + P);
                        v2 = FloatVector.fromArray(S, hv, (int) e + 2 * P);
                        v3 = FloatVector.fromArray(S, hv, (int) e + 3 * P);
                    }
                    // selectFrom picks lane i of the window for each lane (vpermd); int lanes carry the float bits.
                    acc0 = ((FloatVector) i0.selectFrom(xi).reinterpretAsFloats()).fma(v0, acc0);
                    acc1 = ((FloatVector) i1.selectFrom(xi).reinterpretAsFloats()).fma(v1, acc1);
                    acc2 = ((FloatVector) i2.selectFrom(xi).reinterpretAsFloats()).fma(v2, acc2);
                    acc3 = ((FloatVector) i3.selectFrom(xi).reinterpretAsFloats()).fma(v3, acc3);
                }
                if (grp < g) { // an odd last group
                    IntVector b = IntVector.fromMemorySegment(IS, idx, ib + (long) (grp >> 3) * P * 4, LE)
                            .lanewise(VectorOperators.LSHR, 4 * (grp & 7));
                    int wi = 4 * (grp % GW);
                    IntVector xi = FloatVector.fromArray(S, x, 4 * grp - wi).reinterpretAsInts();
                    IntVector i0 = b.and(3).add(wi), i1 = b.lanewise(VectorOperators.LSHR, 2).and(3).add(wi);
                    long e = (long) grp * 2 * P + h;
                    FloatVector v0, v1;
                    if (direct) {
                        v0 = FloatVector.fromMemorySegment(S, vals, vb + e * 4, LE);
                        v1 = FloatVector.fromMemorySegment(S, vals, vb + e * 4 + 4 * P, LE);
                    } else {
                        v0 = FloatVector.fromArray(S, hv, (int) e);
                        v1 = FloatVector.fromArray(S, hv, (int) e + P);
                    }
                    acc0 = ((FloatVector) i0.selectFrom(xi).reinterpretAsFloats()).fma(v0, acc0);
                    acc1 = ((FloatVector) i1.selectFrom(xi).reinterpretAsFloats()).fma(v1, acc1);
                }
                acc0.add(acc2).add(acc1.add(acc3)).intoArray(s.row, 0);
                for (int l = 0; l < VL; l++) {
                    int j = p * P + h + l;
                    if (j >= n0 && j < n1) {
                        float r = s.row[l] * outScale(w, j);
                        out[j - n0] = bias == null ? r : r + bias.getAtIndex(JAVA_FLOAT_UNALIGNED, j);
                    }
                }
            }
        }
        CsrVector.activate(out, n1 - n0, act);
        MemorySegment.copy(out, 0, c, JAVA_FLOAT_UNALIGNED, ((long) i * n + n0) * 4, n1 - n0);
    }

    // ---------------------------------------------------------------- blocks of rows

    private static void blocks(MemorySegment a, Nm24Matrix w, MemorySegment bias, Activation act,
            MemorySegment c, int m0, int m1, int n0, int n1, CsrVector.Scratch s) {
        int k = w.inFeatures(), n = w.outFeatures();
        int g = Nm24Matrix.groups(k), g8 = Nm24Matrix.octets(g), kp = 4 * g;
        int sr = CsrVector.superRows(kp);
        MemorySegment at = s.atSeg(sr * kp);
        float[] ct = s.ct(CsrVector.CHANNELS * RB);
        int[] idx = s.words(CsrVector.CHANNELS / P * g8 * P);
        for (int r0 = m0; r0 < m1; r0 += sr) {
            int rows = Math.min(sr, m1 - r0);
            int full = rows / RB;
            int rest = rows - full * RB;
            int tails = (rest + VL - 1) / VL;
            for (int b = 0; b < full; b++) {
                packPadded(a, k, kp, r0 + b * RB, RB, RB, at, (long) b * RB * kp, s);
            }
            for (int b = 0; b < tails; b++) {
                int rr = full * RB + b * VL;
                packPadded(a, k, kp, r0 + rr, Math.min(VL, rows - rr), VL, at, (long) rr * kp, s);
            }
            // n0 is a panel boundary (the split's unit); chunks of CHANNELS are whole panels.
            for (int j0 = n0; j0 < n1; j0 += CsrVector.CHANNELS) {
                int j1 = Math.min(n1, j0 + CsrVector.CHANNELS);
                int p0 = j0 / P, p1 = (j1 + P - 1) / P;
                widenValues(w, p0, p1, s);
                MemorySegment.copy(w.indices(), JAVA_INT_UNALIGNED, (long) p0 * g8 * P * 4, idx, 0, (p1 - p0) * g8 * P);
                for (int j = j0; j < j1; j++) {
                    s.scale[j - j0] = outScale(w, j);
                    s.bias[j - j0] = bias == null ? 0f : bias.getAtIndex(JAVA_FLOAT_UNALIGNED, j);
                }
                for (int b = 0; b < full; b++) {
                    long off = 4L * b * RB * kp;
                    // A panel's channels run K chunk by K chunk: the chunk's Aᵀ rows and the panel's values
                    // (one cache line per slot, shared by the 16 channels) stay in L1 across the panel.
                    for (int pr = 0; pr < p1 - p0; pr++) {
                        int jb = (p0 + pr) * P;
                        for (int gc = 0; gc < g; gc += KG) {
                            int ge = Math.min(g, gc + KG);
                            for (int j = Math.max(j0, jb); j < Math.min(j1, jb + P); j++) {
                                int l = j - jb;
                                channel(at, off, s.vals, pr * g * 2 * P + l, idx, pr * g8 * P + l, gc, ge, ct,
                                        (j - j0) * RB, gc > 0);
                            }
                        }
                    }
                    CsrVector.store(ct, RB, c, n, r0 + b * RB, RB, j0, j1, s, act);
                }
                for (int b = 0; b < tails; b++) {
                    int rr = full * RB + b * VL;
                    long off = 4L * rr * kp;
                    for (int j = j0; j < j1; j++) {
                        int pr = j / P - p0, l = j % P;
                        channel1(at, off, s.vals, pr * g * 2 * P + l, idx, pr * g8 * P + l, g, ct, (j - j0) * VL);
                    }
                    CsrVector.store(ct, VL, c, n, r0 + rr, Math.min(VL, rows - rr), j0, j1, s, act);
                }
            }
        }
    }

    /** {@link CsrVector#pack} over {@code k} inputs, then zero rows {@code k .. kp} of the block. */
    private static void packPadded(MemorySegment a, int k, int kp, int r0, int rows, int bw, MemorySegment at, long off,
            CsrVector.Scratch s) {
        CsrVector.pack(a, k, r0, rows, bw, at, off, s);
        at.asSlice((off + (long) k * bw) * 4, (long) (kp - k) * bw * 4).fill((byte) 0);
    }

    /** The nibbles of groups {@code grp} and {@code grp + 1} ({@code grp} even) in the low byte. */
    private static int pair(int[] idx, int ib, int grp) {
        return idx[ib + (grp >> 3) * P] >>> (4 * (grp & 7));
    }

    /**
     * Groups {@code [g0, g1)} ({@code g0} even) of one channel over an {@code RB}-row block: slot {@code s} of group
     * {@code g} has its value at {@code vals[vb + (2g + s)·16]} and its nibble in word {@code idx[ib + (g/8)·16]};
     * {@code add} continues the sums of earlier groups in {@code ct}.
     */
    private static void channel(MemorySegment at, long off, float[] vals, int vb, int[] idx, int ib, int g0, int g1,
            float[] ct, int co, boolean add) {
        if (NV == 4) {
            channel4(at, off, vals, vb, idx, ib, g0, g1, ct, co, add);
        } else {
            channel2(at, off, vals, vb, idx, ib, g0, g1, ct, co, add);
        }
    }

    private static void channel4(MemorySegment at, long off, float[] vals, int vb, int[] idx, int ib, int g0, int g1,
            float[] ct, int co, boolean add) {
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
        int grp = g0;
        for (; grp + 1 < g1; grp += 2) {
            int bits = pair(idx, ib, grp);
            long base = off + 4L * grp * RB4; // row 4·grp of the block
            int v = vb + 2 * grp * P;
            long o = base + (bits & 3) * RB4;
            FloatVector x = FloatVector.broadcast(S, vals[v]);
            a0 = FloatVector.fromMemorySegment(S, at, o, LE).fma(x, a0);
            a1 = FloatVector.fromMemorySegment(S, at, o + V4, LE).fma(x, a1);
            a2 = FloatVector.fromMemorySegment(S, at, o + 2 * V4, LE).fma(x, a2);
            a3 = FloatVector.fromMemorySegment(S, at, o + 3 * V4, LE).fma(x, a3);
            o = base + ((bits >> 2) & 3) * RB4;
            x = FloatVector.broadcast(S, vals[v + P]);
            b0 = FloatVector.fromMemorySegment(S, at, o, LE).fma(x, b0);
            b1 = FloatVector.fromMemorySegment(S, at, o + V4, LE).fma(x, b1);
            b2 = FloatVector.fromMemorySegment(S, at, o + 2 * V4, LE).fma(x, b2);
            b3 = FloatVector.fromMemorySegment(S, at, o + 3 * V4, LE).fma(x, b3);
            o = base + (4 + ((bits >> 4) & 3)) * RB4;
            x = FloatVector.broadcast(S, vals[v + 2 * P]);
            a0 = FloatVector.fromMemorySegment(S, at, o, LE).fma(x, a0);
            a1 = FloatVector.fromMemorySegment(S, at, o + V4, LE).fma(x, a1);
            a2 = FloatVector.fromMemorySegment(S, at, o + 2 * V4, LE).fma(x, a2);
            a3 = FloatVector.fromMemorySegment(S, at, o + 3 * V4, LE).fma(x, a3);
            o = base + (4 + ((bits >> 6) & 3)) * RB4;
            x = FloatVector.broadcast(S, vals[v + 3 * P]);
            b0 = FloatVector.fromMemorySegment(S, at, o, LE).fma(x, b0);
            b1 = FloatVector.fromMemorySegment(S, at, o + V4, LE).fma(x, b1);
            b2 = FloatVector.fromMemorySegment(S, at, o + 2 * V4, LE).fma(x, b2);
            b3 = FloatVector.fromMemorySegment(S, at, o + 3 * V4, LE).fma(x, b3);
        }
        if (grp < g1) { // an odd last group
            int bits = pair(idx, ib, grp);
            long base = off + 4L * grp * RB4;
            int v = vb + 2 * grp * P;
            long o = base + (bits & 3) * RB4;
            FloatVector x = FloatVector.broadcast(S, vals[v]);
            a0 = FloatVector.fromMemorySegment(S, at, o, LE).fma(x, a0);
            a1 = FloatVector.fromMemorySegment(S, at, o + V4, LE).fma(x, a1);
            a2 = FloatVector.fromMemorySegment(S, at, o + 2 * V4, LE).fma(x, a2);
            a3 = FloatVector.fromMemorySegment(S, at, o + 3 * V4, LE).fma(x, a3);
            o = base + ((bits >> 2) & 3) * RB4;
            x = FloatVector.broadcast(S, vals[v + P]);
            b0 = FloatVector.fromMemorySegment(S, at, o, LE).fma(x, b0);
            b1 = FloatVector.fromMemorySegment(S, at, o + V4, LE).fma(x, b1);
            b2 = FloatVector.fromMemorySegment(S, at, o + 2 * V4, LE).fma(x, b2);
            b3 = FloatVector.fromMemorySegment(S, at, o + 3 * V4, LE).fma(x, b3);
        }
        a0.add(b0).intoArray(ct, co);
        a1.add(b1).intoArray(ct, co + VL);
        a2.add(b2).intoArray(ct, co + 2 * VL);
        a3.add(b3).intoArray(ct, co + 3 * VL);
    }

    private static void channel2(MemorySegment at, long off, float[] vals, int vb, int[] idx, int ib, int g0, int g1,
            float[] ct, int co, boolean add) {
        FloatVector a0 = FloatVector.zero(S), a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0, d0 = a0, d1 = a0;
        if (add) {
            a0 = FloatVector.fromArray(S, ct, co);
            a1 = FloatVector.fromArray(S, ct, co + VL);
        }
        int grp = g0;
        for (; grp + 1 < g1; grp += 2) {
            int bits = pair(idx, ib, grp);
            long base = off + 4L * grp * RB4;
            int v = vb + 2 * grp * P;
            long o = base + (bits & 3) * RB4;
            FloatVector x = FloatVector.broadcast(S, vals[v]);
            a0 = FloatVector.fromMemorySegment(S, at, o, LE).fma(x, a0);
            a1 = FloatVector.fromMemorySegment(S, at, o + V4, LE).fma(x, a1);
            o = base + ((bits >> 2) & 3) * RB4;
            x = FloatVector.broadcast(S, vals[v + P]);
            b0 = FloatVector.fromMemorySegment(S, at, o, LE).fma(x, b0);
            b1 = FloatVector.fromMemorySegment(S, at, o + V4, LE).fma(x, b1);
            o = base + (4 + ((bits >> 4) & 3)) * RB4;
            x = FloatVector.broadcast(S, vals[v + 2 * P]);
            c0 = FloatVector.fromMemorySegment(S, at, o, LE).fma(x, c0);
            c1 = FloatVector.fromMemorySegment(S, at, o + V4, LE).fma(x, c1);
            o = base + (4 + ((bits >> 6) & 3)) * RB4;
            x = FloatVector.broadcast(S, vals[v + 3 * P]);
            d0 = FloatVector.fromMemorySegment(S, at, o, LE).fma(x, d0);
            d1 = FloatVector.fromMemorySegment(S, at, o + V4, LE).fma(x, d1);
        }
        if (grp < g1) {
            int bits = pair(idx, ib, grp);
            long base = off + 4L * grp * RB4;
            int v = vb + 2 * grp * P;
            long o = base + (bits & 3) * RB4;
            FloatVector x = FloatVector.broadcast(S, vals[v]);
            a0 = FloatVector.fromMemorySegment(S, at, o, LE).fma(x, a0);
            a1 = FloatVector.fromMemorySegment(S, at, o + V4, LE).fma(x, a1);
            o = base + ((bits >> 2) & 3) * RB4;
            x = FloatVector.broadcast(S, vals[v + P]);
            b0 = FloatVector.fromMemorySegment(S, at, o, LE).fma(x, b0);
            b1 = FloatVector.fromMemorySegment(S, at, o + V4, LE).fma(x, b1);
        }
        a0.add(b0).add(c0.add(d0)).intoArray(ct, co);
        a1.add(b1).add(c1.add(d1)).intoArray(ct, co + VL);
    }

    /** One channel over a {@code VL}-row block, all groups. */
    private static void channel1(MemorySegment at, long off, float[] vals, int vb, int[] idx, int ib, int g,
            float[] ct, int co) {
        FloatVector a0 = FloatVector.zero(S), a1 = a0;
        for (int grp = 0; grp < g; grp++) {
            int bits = idx[ib + (grp >> 3) * P] >>> (4 * (grp & 7));
            long base = off + 4L * grp * V4;
            int v = vb + 2 * grp * P;
            a0 = FloatVector.fromMemorySegment(S, at, base + (bits & 3) * V4, LE)
                    .fma(FloatVector.broadcast(S, vals[v]), a0);
            a1 = FloatVector.fromMemorySegment(S, at, base + ((bits >> 2) & 3) * V4, LE)
                    .fma(FloatVector.broadcast(S, vals[v + P]), a1);
        }
        a0.add(a1).intoArray(ct, co);
    }
}
