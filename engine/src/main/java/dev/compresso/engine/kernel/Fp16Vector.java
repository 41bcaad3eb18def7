package dev.compresso.engine.kernel;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

import dev.compresso.engine.weights.Fp16Panels;
import dev.compresso.engine.weights.Panels;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API fp16 GEMM/GEMV. JDK 25's Vector API has no half-float species or fp16↔fp32 conversion
 * ({@code VectorOperators} lists 40 conversions, none for binary16; {@code jdk.incubator.vector.Float16} is
 * scalar), so the kernel widens by itself, two ways.
 *
 * <p><b>One row (GEMV), finite weights: fused widening.</b> Weights are read once, straight from the panels,
 * as int vectors of 2·L halves; no scratch. The low half of each int lane is an even column, the high half
 * the odd one next to it. Each becomes the fp32 bit pattern {@code sign | magnitude << 13} with two integer
 * operations (odd: {@code (i >> 3) & 0x8FFFE000}; even: {@code i << 16} first), which equals the binary16
 * value × 2^-112 for every finite half, subnormals included (they land on fp32 subnormals exactly). The
 * 2^112 is folded into the row of A once per call, so the FMA sees the exact product {@code w · x}; when a
 * finite x would overflow ({@code |x| ≥ 2^16}) the call takes the scratch path below instead. Inf/NaN
 * halves would widen to finite numbers, so this loop runs only on panels whose {@link Fp16Panels#finite()}
 * flag (computed once when the panels are built or loaded) is set; no blend in the loop. Four loads per
 * k-step share one x vector: at 16 lanes four panels side by side (each load holds two k-rows, x is laid out
 * as {@code [x[2s]×8, x[2s+1]×8]}), at 8 lanes four panels, at 4 lanes two; eight accumulators.
 *
 * <p><b>Several rows, non-finite panels, huge activations: scratch widening.</b> A group of panels is widened
 * into an fp32 scratch by a plain {@link Float#float16ToFloat} loop over a {@code short[]} copy, which C2
 * vectorizes into F16C {@code vcvtph2ps} (measured 34 halves/ns in L1, 15x the same loop kept scalar) and
 * which is exact for every bit pattern; the {@link StripGemm} micro-kernel then runs on the scratch, the
 * widening amortized over the rows. For a few rows the scratch is filled in L1-sized chunks.
 *
 * <p>Measured (AMD EPYC, AVX-512, 2 cores, shared machine; {@code CompressedKernelRatios 3 fp16}: fp32 time / fp16
 * time, best of interleaved runs in one JVM), scratch GEMV → fused GEMV: 1x4096x4096 0.84–0.92 → 1.52–1.68 on one
 * thread (fp16 0.96–1.07 ms), 0.87–1.16 → 1.59–2.25 on two (fp16 0.51–0.61 ms; the fp32 two-thread time swings
 * 0.7–1.8 ms with the other load on the machine); 1x1536x384 0.48–0.55 → 1.57–1.70 (too small to split, one thread
 * either way); 128x1536x384 unchanged at 0.92–0.94 (scratch path). Half the bytes would allow 2x; one thread
 * reaches 33 GB/s of fp16 against 40–46 GB/s for the fp32 GEMV (the widening adds five integer operations per 32
 * halves, so fewer cache misses fit in the out-of-order window), and from L2 the loop streams 90 GB/s. Variants
 * measured slower and dropped (1x1536x384, one thread, against 13–14 µs): S2I widening of 256-bit short loads (16
 * µs with x pre-scaled, 27 with a separate {@code × 2^112}, 109 with an inf/NaN blend in the loop); even columns
 * from a second load 2 bytes earlier instead of a shift (16–22 vs 13–14 µs); a rotate instead of the left shift
 * (same); one panel at a time, four consecutive lines per k-step (1x4096x4096 1.38–1.45 vs 1.07–1.10 ms: fewer
 * concurrent streams); four scalar loads per k-step touching 1 KiB ahead as a prefetch (1.70 vs 0.96 ms); eight
 * panels per group or two k-streams per panel (past C2's inlining budget, see {@code MASK}).
 * {@code -Dcompresso.fp16.fused=false} restores the scratch GEMV for comparisons.
 */
final class Fp16Vector {
    private static final ThreadLocal<short[][]> HALVES = ThreadLocal.withInitial(() -> new short[1][0]);

    /** Row counts up to this widen in L1-sized chunks, once per use (GEMV); measured, see the report. */
    static final int FEW_ROWS = 2;

    private Fp16Vector() {}

    static void gemm(MemorySegment a, Fp16Panels w, MemorySegment bias, Activation act, MemorySegment c,
            int m0, int m1, int n0, int n1) {
        int k = w.inFeatures(), n = w.outFeatures();
        int panels = Panels.panelCount(n);
        int pk = k * Panels.NR;
        MemorySegment d = w.data();
        if (m1 - m0 == 1 && FUSED && gemv(a, w, bias, act, c, m0, n0, n1)) {
            return;
        }
        if (m1 - m0 <= FEW_ROWS) {
            StripGemm.fewRows(StripGemm.packRows(a, k, m0, m1), k, n, panels, (q, k0, kc, ws, wo) -> widen(d, ((long) q * k + k0) * Panels.NR, ws, wo,
                    kc * Panels.NR), null, bias, act, c, m0, m1, n0, n1);
            return;
        }
        float[] ws = StripGemm.scratch(StripGemm.GROUP * pk);
        float[] ap = StripGemm.packTiles(a, k, m0, m1);
        for (int p = n0 / Panels.NR; p * Panels.NR < n1; p += StripGemm.GROUP) {
            for (int g = 0; g < StripGemm.GROUP; g++) {
                if (p + g < panels) {
                    widen(d, (long) (p + g) * pk, ws, g * pk, pk);
                } else {
                    Arrays.fill(ws, g * pk, (g + 1) * pk, 0f);
                }
            }
            StripGemm.group(ap, k, n, ws, p, n1, null, bias, act, c, m0, m1);
        }
    }

    // ---------------------------------------------------------------------------------------------------
    // GEMV (one row): fused widening, no scratch.

    /** Benchmark switch {@code -Dcompresso.fp16.fused=false}: GEMV through the widening scratch instead. */
    private static final boolean FUSED = !"false".equals(System.getProperty("compresso.fp16.fused"));
    static final VectorSpecies<Float> S = Fp32Vector.S;
    /** Float lanes: 4, 8 or 16. */
    static final int L = S.length();
    static final VectorSpecies<Integer> I = S.withLanes(int.class);
    /** k-rows of a panel one int vector (2·L halves) spans: 2 at 16 lanes, else 1 (half a row at 4 lanes). */
    static final int ROWS = Math.max(1, 2 * L / Panels.NR);
    /** Loads of a k-step per panel: 1 at 8 and 16 lanes, 2 at 4 lanes. */
    static final int LOADS_PER_PANEL = Math.max(1, Panels.NR / (2 * L));
    /** Int-vector loads per k-step (eight accumulators, one x vector shared by all). */
    static final int LOADS = 4;
    /** Panels per group. */
    static final int GROUP_PANELS = LOADS / LOADS_PER_PANEL;
    /** Bytes a k-step advances in a panel. */
    static final long STEP = Panels.NR * 2L * ROWS;
    /** 2^112: the bias difference of the fp32 and binary16 exponents. */
    static final float TWO_112 = 0x1p112f;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /** The lanes of the second k-row when a vector spans two. */
    private static final VectorMask<Float> UPPER = VectorMask.fromLong(S, ((1L << L) - 1) & ~((1L << (L / ROWS)) - 1));
    /** Per thread: [0] x scaled by 2^112 and laid out per k-step, [1] accumulators and columns of a group. */
    private static final ThreadLocal<float[][]> GEMV =
            ThreadLocal.withInitial(() -> new float[][] {new float[0], new float[512]});

    /**
     * Returns false (and writes nothing) when the fused path does not apply: non-finite weights, an activation
     * whose scaling by 2^112 overflows, or segments the Vector API cannot read.
     */
    private static boolean gemv(MemorySegment a, Fp16Panels w, MemorySegment bias, Activation act, MemorySegment c,
            int row, int n0, int n1) {
        MemorySegment d = w.data();
        if (!w.finite() || !Fp32Vector.vectorAccessible(d) || !Fp32Vector.vectorAccessible(c)
                || (bias != null && !Fp32Vector.vectorAccessible(bias))) {
            return false;
        }
        int k = w.inFeatures(), n = w.outFeatures();
        int steps = k / ROWS;
        float[][] h = GEMV.get();
        if (h[0].length < steps * L) {
            h[0] = new float[steps * L];
        }
        float[] xs = h[0], red = h[1];
        if (!scaleX(a, (long) row * k, k, xs)) {
            return false;
        }
        long ps = (long) k * Panels.NR * 2; // bytes per panel
        int p1 = (n1 + Panels.NR - 1) / Panels.NR;
        for (int p = n0 / Panels.NR; p < p1; p += GROUP_PANELS) {
            // Load j of a k-step reads panel p + j / LOADS_PER_PANEL; past the last panel it rereads panel p
            // (cached, results dropped) rather than read beyond the range.
            long b0 = load(p, 0, p1, ps), b1 = load(p, 1, p1, ps), b2 = load(p, 2, p1, ps), b3 = load(p, 3, p1, ps);
            group(d, b0, b1, b2, b3, xs, steps, red);
            finish(a, (long) row * k, k, d, ps, red, bias, act, c, row, n, p, p1, n1);
        }
        return true;
    }

    private static long load(int p, int j, int p1, long ps) {
        int panel = p + j / LOADS_PER_PANEL;
        return panel < p1 ? panel * ps + (j % LOADS_PER_PANEL) * L * 4L : p * ps;
    }

    /**
     * Copies the row of A scaled by 2^112 into {@code xs}, one L-lane vector per k-step: at 16 lanes lanes 0–7
     * hold {@code x[2s]} and 8–15 {@code x[2s+1]}, otherwise all lanes {@code x[s]}. False if a finite x
     * overflows (|x| ≥ 2^16): the scaling must be exact.
     */
    private static boolean scaleX(MemorySegment a, long a0, int k, float[] xs) {
        int steps = k / ROWS;
        boolean overflow = false;
        for (int s = 0; s < steps; s++) {
            float x = a.getAtIndex(JAVA_FLOAT_UNALIGNED, a0 + (long) s * ROWS), v = x * TWO_112;
            overflow |= Float.isInfinite(v) && !Float.isInfinite(x);
            FloatVector xv = FloatVector.broadcast(S, v);
            if (ROWS == 2) {
                float x1 = a.getAtIndex(JAVA_FLOAT_UNALIGNED, a0 + (long) s * ROWS + 1), v1 = x1 * TWO_112;
                overflow |= Float.isInfinite(v1) && !Float.isInfinite(x1);
                xv = xv.blend(v1, UPPER);
            }
            xv.intoArray(xs, s * L);
        }
        return !overflow;
    }

    /**
     * The hot loop of one group of panels: four int-vector loads per k-step, each 2·L binary16 values. The
     * low half of an int lane is an even column, the high half the next odd one; each becomes the fp32 bits
     * {@code sign | magnitude << 13} with two integer operations (a shift pair and a mask), which is the
     * exact value times 2^-112 for every finite half, subnormals included. The 2^112 is folded into x, so
     * the FMA sees the exact product. Accumulators go to {@code red}: even ones at {@code j·L}, odd ones at
     * {@code (4 + j)·L}.
     */
    private static void group(MemorySegment d, long b0, long b1, long b2, long b3, float[] xs, int steps, float[] red) {
        FloatVector e0 = FloatVector.zero(S), e1 = e0, e2 = e0, e3 = e0, o0 = e0, o1 = e0, o2 = e0, o3 = e0;
        for (int s = 0; s < steps; s++) {
            FloatVector x = FloatVector.fromArray(S, xs, s * L);
            long o = s * STEP;
            IntVector i0 = IntVector.fromMemorySegment(I, d, b0 + o, LE);
            IntVector i1 = IntVector.fromMemorySegment(I, d, b1 + o, LE);
            IntVector i2 = IntVector.fromMemorySegment(I, d, b2 + o, LE);
            IntVector i3 = IntVector.fromMemorySegment(I, d, b3 + o, LE);
            e0 = even(i0).fma(x, e0);
            o0 = odd(i0).fma(x, o0);
            e1 = even(i1).fma(x, e1);
            o1 = odd(i1).fma(x, o1);
            e2 = even(i2).fma(x, e2);
            o2 = odd(i2).fma(x, o2);
            e3 = even(i3).fma(x, e3);
            o3 = odd(i3).fma(x, o3);
        }
        e0.intoArray(red, 0);
        e1.intoArray(red, L);
        e2.intoArray(red, 2 * L);
        e3.intoArray(red, 3 * L);
        o0.intoArray(red, 4 * L);
        o1.intoArray(red, 5 * L);
        o2.intoArray(red, 6 * L);
        o3.intoArray(red, 7 * L);
    }

    /** Low halves: shift to the top, arithmetic shift back by 3 (sign copied into bits 28–31), mask. */
    private static FloatVector even(IntVector i) {
        return i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(MASK).reinterpretAsFloats();
    }

    /**
     * {@code sign | magnitude << 13} bits of a binary16 shifted into place. A vector constant rather than
     * {@code and(int)}: fewer C2 nodes per call. {@link #group} sits close to C2's inlining node budget
     * ({@code NodeCountInliningCutoff}); past it {@code odd()} stayed a call, its vectors were boxed and the
     * loop ran 5–7x slower (seen when adding four scalar "prefetch" loads per k-step).
     */
    private static final IntVector MASK = IntVector.broadcast(I, 0x8FFFE000);

    /** High halves: arithmetic shift by 3 puts the magnitude at bit 13 and keeps the sign in bit 31. */
    private static FloatVector odd(IntVector i) {
        return i.lanewise(VectorOperators.ASHR, 3).and(MASK).reinterpretAsFloats();
    }

    /**
     * Turns a group's accumulators into columns (sums the two k-rows of a 16-lane vector, interleaves even and
     * odd), adds the last k-row when K is odd at 16 lanes, and runs the epilogue for columns below
     * {@code n1}. Columns go to {@code red[8L …]}.
     */
    private static void finish(MemorySegment a, long a0, int k, MemorySegment d, long ps, float[] red,
            MemorySegment bias, Activation act, MemorySegment c, int row, int n, int p, int p1, int n1) {
        int cols = GROUP_PANELS * Panels.NR, base = 2 * LOADS * L;
        int half = L / ROWS; // lanes per k-row in a vector
        for (int j = 0; j < LOADS; j++) {
            for (int l = 0; l < half; l++) {
                float e = red[j * L + l], o = red[(LOADS + j) * L + l];
                if (ROWS == 2) {
                    e += red[j * L + half + l];
                    o += red[(LOADS + j) * L + half + l];
                }
                red[base + j * 2 * half + 2 * l] = e;
                red[base + j * 2 * half + 2 * l + 1] = o;
            }
        }
        if (k % ROWS != 0) {
            float x = a.getAtIndex(JAVA_FLOAT_UNALIGNED, a0 + k - 1);
            for (int g = 0; g < GROUP_PANELS && p + g < p1; g++) {
                long o = (p + g) * ps + (k - 1) * Panels.NR * 2L;
                for (int j = 0; j < Panels.NR; j++) {
                    red[base + g * Panels.NR + j] += x * Float.float16ToFloat(d.get(JAVA_SHORT_UNALIGNED, o + j * 2L));
                }
            }
        }
        int col0 = p * Panels.NR;
        long cRow = (long) row * n;
        for (int j = 0; j < cols && col0 + j < n1; j += L) {
            int col = col0 + j;
            if (col + L <= n1) {
                Fp32Vector.storeEpilogue(FloatVector.fromArray(S, red, base + j), bias, act, c, col, (cRow + col) * 4);
            } else {
                for (int q = 0; col + q < n1; q++) {
                    float v = red[base + j + q] + (bias == null ? 0f : bias.getAtIndex(JAVA_FLOAT_UNALIGNED, col + q));
                    c.setAtIndex(JAVA_FLOAT_UNALIGNED, cRow + col + q, act.apply(v));
                }
            }
        }
    }

    /** Widens {@code count} binary16 elements starting at element {@code off} into {@code ws[wo…]}. */
    static void widen(MemorySegment d, long off, float[] ws, int wo, int count) {
        short[][] h = HALVES.get();
        if (h[0].length < count) {
            h[0] = new short[count];
        }
        short[] t = h[0];
        MemorySegment.copy(d, JAVA_SHORT_UNALIGNED, off * 2, t, 0, count);
        convert(t, ws, wo, count);
    }

    /** The loop C2 vectorizes into {@code vcvtph2ps}; keep it this simple. */
    private static void convert(short[] t, float[] ws, int wo, int count) {
        for (int i = 0; i < count; i++) {
            ws[wo + i] = Float.float16ToFloat(t[i]);
        }
    }
}
