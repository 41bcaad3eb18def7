package dev.compresso.engine.kernel;

import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

import dev.compresso.engine.weights.Fp16Panels;
import dev.compresso.engine.weights.Panels;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * Vector API fp16 GEMM/GEMV. JDK 25's Vector API has no half-float conversion, so a group of panels is
 * widened into an fp32 scratch by a plain {@link Float#float16ToFloat} loop over a {@code short[]} copy, which
 * C2 compiles to the hardware conversion (F16C {@code vcvtph2ps}) and which is exact for every bit pattern;
 * the {@link StripGemm} micro-kernel then runs on the scratch. A Vector API bit-manipulation widening
 * ({@code S2I}, shift, {@code × 2^112}, inf/NaN blend, sign) was measured 1.6x slower than this loop here
 * (2.9 vs 1.8 ms for 16 M halves, one thread). For a few rows the scratch is filled in L1-sized chunks.
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
