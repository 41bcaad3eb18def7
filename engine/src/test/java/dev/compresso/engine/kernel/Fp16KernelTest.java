package dev.compresso.engine.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.compresso.engine.weights.Fp16Panels;
import dev.compresso.engine.weights.Panels;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The active provider's fp16 kernel against {@link ScalarKernels} and against exact widening. */
class Fp16KernelTest {

    static MemorySegment seg(float[] v) {
        return Int8KernelTest.seg(v);
    }

    /** Every binary16 bit pattern, widened by the kernel (K = 1, activation 1), equals Float.float16ToFloat. */
    @Test
    void widensAll65536BitPatternsExactly() {
        int n = 65536;
        MemorySegment d = Panels.allocate(Panels.elementCount(n, 1) * 2);
        for (int h = 0; h < n; h++) d.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, Panels.index(h, 0, 1), (short) h);
        Fp16Panels w = new Fp16Panels(n, 1, d);
        for (int m : new int[] {1, 7}) {
            float[] a = new float[m];
            java.util.Arrays.fill(a, 1f);
            for (int threads : new int[] {1, 2}) {
                MemorySegment c = Panels.allocate((long) m * n * 4);
                Kernels.linear(seg(a), m, w, null, Activation.NONE, c, Int8Mode.AUTO, threads);
                for (int i = 0; i < m; i++) {
                    for (int h = 0; h < n; h++) {
                        float e = 0f + 1f * Float.float16ToFloat((short) h);
                        float got = Kernels.getFloat(c, (long) i * n + h);
                        if (Float.isNaN(e) ? !Float.isNaN(got) : Float.floatToIntBits(e) != Float.floatToIntBits(got)) {
                            fail("bits 0x" + Integer.toHexString(h) + ": expected " + e + " but was " + got);
                        }
                    }
                }
            }
        }
    }

    @Test
    void packingRoundsToNearestEven() {
        float sub = 0x1p-24f; // smallest binary16 subnormal
        float[][] cases = {
            {65504f, 65504f}, {65519.99f, 65504f}, {65520f, Float.POSITIVE_INFINITY}, {-65520f, Float.NEGATIVE_INFINITY},
            {Float.POSITIVE_INFINITY, Float.POSITIVE_INFINITY}, {Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY},
            {sub, sub}, {0.5f * sub, 0f}, {1.5f * sub, 2 * sub}, {2.5f * sub, 2 * sub}, {0.51f * sub, sub},
            {-0f, -0f}, {1f + 0x1p-11f, 1f}, {1f + 3 * 0x1p-11f, 1f + 0x1p-9f}, {0x1p-14f, 0x1p-14f}, {1e-10f, 0f},
        };
        float[] w = new float[cases.length + 1];
        for (int i = 0; i < cases.length; i++) w[i] = cases[i][0];
        w[cases.length] = Float.NaN;
        Fp16Panels p = Fp16Panels.pack(w, w.length, 1);
        for (int i = 0; i < cases.length; i++) {
            assertEquals(Float.floatToIntBits(cases[i][1]), Float.floatToIntBits(p.get(i, 0)), "pack(" + cases[i][0] + ")");
        }
        assertTrue(Float.isNaN(p.get(cases.length, 0)));
    }

    @Test
    void gemmMatchesReference() {
        Random r = new Random(5);
        Activation[] acts = Activation.values();
        int idx = 0;
        for (int[] sh : Int8KernelTest.SHAPES) {
            int m = sh[0], n = sh[1], k = sh[2];
            float[] wd = new float[n * k];
            for (int i = 0; i < wd.length; i++) {
                int x = r.nextInt(20);
                wd[i] = x == 0 ? 65504f : x == 1 ? -0x1p-20f : (float) r.nextGaussian() * 0.1f;
            }
            Fp16Panels w = Fp16Panels.pack(wd, n, k);
            float[] a = Int8KernelTest.randomActivations(r, m, k);
            for (int i = 0; i < a.length; i++) a[i] *= 1e-3f; // keep 65504·a·k far from overflow
            MemorySegment as = seg(a);
            Activation act = acts[idx % acts.length];
            MemorySegment bias = idx % 2 == 1 ? seg(Int8KernelTest.randomActivations(r, 1, n)) : null;
            idx++;
            MemorySegment ref = Panels.allocate((long) m * n * 4);
            if (m > 0) ScalarKernels.INSTANCE.fp16(as, w, bias, act, ref, 0, m, 0, n);
            for (int threads : new int[] {1, 2}) {
                MemorySegment c = Panels.allocate((long) m * n * 4);
                Kernels.linear(as, m, w, bias, act, c, Int8Mode.AUTO, threads);
                for (int i = 0; i < m; i++) {
                    for (int j = 0; j < n; j++) {
                        double abs = 0;
                        for (int kk = 0; kk < k; kk++) abs += Math.abs(a[i * k + kk] * w.get(j, kk));
                        double tol = 1.2 * (k + 4) * 0x1p-23 * abs + 4e-6 * (1 + Math.abs(Kernels.getFloat(ref, (long) i * n + j)));
                        assertEquals(Kernels.getFloat(ref, (long) i * n + j), Kernels.getFloat(c, (long) i * n + j), tol,
                                m + "x" + n + "x" + k + " " + act + " threads=" + threads + " C[" + i + "][" + j + "]");
                    }
                }
            }
        }
    }

    /** The finite binary16 bit patterns (exponent field below 31): 63488 of them. */
    static short[] finitePatterns() {
        short[] f = new short[63488];
        int i = 0;
        for (int h = 0; h < 65536; h++) {
            if ((h & 0x7C00) != 0x7C00) f[i++] = (short) h;
        }
        return f;
    }

    /**
     * The one-row (GEMV) path of finite panels widens every finite bit pattern exactly, in each k-row position
     * (a vector spans two k-rows at 16 lanes; odd K leaves a last row), scaled by powers of two up to 2^15
     * (x · 2^112 must not overflow) and down into fp32 subnormal products.
     */
    @Test
    void gemvWidensEveryFinitePatternExactlyAtEveryRowPosition() {
        short[] f = finitePatterns();
        int n = f.length;
        for (int k : new int[] {1, 2, 3, 5}) {
            for (int pos = 0; pos < k; pos++) {
                MemorySegment d = Panels.allocate(Panels.elementCount(n, k) * 2);
                for (int j = 0; j < n; j++) d.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, Panels.index(j, pos, k), f[j]);
                Fp16Panels w = new Fp16Panels(n, k, d);
                assertTrue(w.finite());
                for (float scale : new float[] {1f, 0x1p15f, -0x1p-20f, 0x1p-120f}) {
                    float[] a = new float[k];
                    java.util.Arrays.fill(a, scale);
                    for (int threads : new int[] {1, 2}) {
                        MemorySegment c = Panels.allocate(n * 4L);
                        Kernels.linear(seg(a), 1, w, null, Activation.NONE, c, Int8Mode.AUTO, threads);
                        for (int j = 0; j < n; j++) {
                            float e = 0f + scale * Float.float16ToFloat(f[j]);
                            float got = Kernels.getFloat(c, j);
                            if (Float.floatToIntBits(e) != Float.floatToIntBits(got)) {
                                fail("k=" + k + " row " + pos + " x=" + scale + " threads=" + threads + " bits 0x"
                                        + Integer.toHexString(f[j] & 0xFFFF) + ": expected " + e + " but was " + got);
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void allFiniteFindsEveryNonFinitePatternAnywhere() {
        for (int bytes : new int[] {2, 6, 8, 10, 32, 34}) {
            MemorySegment s = Panels.allocate(bytes);
            assertTrue(Fp16Panels.allFinite(s));
            for (int at = 0; at + 2 <= bytes; at += 2) {
                for (int h = 0; h < 65536; h += (at == 0 && bytes == 2) ? 1 : 97) {
                    s.set(ValueLayout.JAVA_SHORT_UNALIGNED, at, (short) h);
                    assertEquals((h & 0x7C00) != 0x7C00, Fp16Panels.allFinite(s), bytes + " bytes, 0x" + Integer.toHexString(h) + " at " + at);
                }
                for (short h : new short[] {0x7C00, (short) 0xFC00, 0x7E00, (short) 0xFFFF, 0x7C01}) {
                    s.set(ValueLayout.JAVA_SHORT_UNALIGNED, at, h);
                    assertFalse(Fp16Panels.allFinite(s));
                }
                s.set(ValueLayout.JAVA_SHORT_UNALIGNED, at, (short) 0x7BFF); // 65504, finite
                assertTrue(Fp16Panels.allFinite(s));
            }
        }
        assertTrue(Fp16Panels.pack(new float[] {65504f, -0f, 0x1p-24f}, 3, 1).finite());
        assertFalse(Fp16Panels.pack(new float[] {1f, 65520f}, 2, 1).finite()); // rounds to +inf
        assertFalse(Fp16Panels.pack(new float[] {Float.NaN, 1f}, 1, 2).finite());
    }

    /** One row at awkward shapes, finite and non-finite-flagged panels, against the scalar reference. */
    @Test
    void gemvMatchesReferenceAtAwkwardShapes() {
        Random r = new Random(11);
        int[] dims = {1, 2, 3, 7, 15, 16, 17, 31, 33, 127, 384, 1000};
        Activation[] acts = Activation.values();
        int idx = 0;
        for (int n : dims) {
            for (int k : new int[] {0, 1, 2, 3, 7, 15, 16, 17, 31, 33, 127, 384, 1000}) {
                float[] wd = new float[n * k];
                for (int i = 0; i < wd.length; i++) {
                    int x = r.nextInt(20);
                    wd[i] = x == 0 ? 65504f : x == 1 ? -0x1p-20f : x == 2 ? -0f : (float) r.nextGaussian() * 0.1f;
                }
                Fp16Panels fin = Fp16Panels.pack(wd, n, k);
                Fp16Panels flagged = new Fp16Panels(n, k, fin.data(), false);
                float[] a = Int8KernelTest.randomActivations(r, 1, k);
                for (int i = 0; i < a.length; i++) a[i] *= 1e-3f;
                Activation act = acts[idx % acts.length];
                MemorySegment bias = idx % 2 == 1 ? seg(Int8KernelTest.randomActivations(r, 1, n)) : null;
                idx++;
                checkRow(seg(a), a, fin, bias, act);
                checkRow(seg(a), a, flagged, bias, act);
            }
        }
    }

    /** Activations whose scaling by 2^112 overflows take the exact fallback; infinite ones stay exact too. */
    @Test
    void gemvWithHugeAndInfiniteActivations() {
        int n = 33, k = 17;
        Random r = new Random(3);
        float[] wd = new float[n * k];
        for (int i = 0; i < wd.length; i++) wd[i] = (float) r.nextGaussian();
        Fp16Panels w = Fp16Panels.pack(wd, n, k);
        for (float big : new float[] {65536f, -1e30f, Float.MAX_VALUE / 1e6f, Float.POSITIVE_INFINITY, Float.NaN, 65535f}) {
            float[] a = new float[k];
            for (int i = 0; i < k; i++) a[i] = (float) r.nextGaussian() * 1e-3f;
            a[k / 2] = big;
            checkRow(seg(a), a, w, null, Activation.NONE);
        }
    }

    /** A non-finite weight in finite-looking data: the flag routes around the fused loop, results stay exact. */
    @Test
    void gemvWithNonFiniteWeights() {
        int n = 40, k = 9;
        float[] wd = new float[n * k];
        Random r = new Random(9);
        for (int i = 0; i < wd.length; i++) wd[i] = (float) r.nextGaussian();
        wd[5 * k + 3] = Float.POSITIVE_INFINITY;
        wd[17 * k + 8] = Float.NaN;
        wd[33 * k] = Float.NEGATIVE_INFINITY;
        Fp16Panels w = Fp16Panels.pack(wd, n, k);
        assertFalse(w.finite());
        float[] a = new float[k];
        for (int i = 0; i < k; i++) a[i] = 0.5f + i;
        checkRow(seg(a), a, w, null, Activation.NONE);
    }

    private static void checkRow(MemorySegment as, float[] a, Fp16Panels w, MemorySegment bias, Activation act) {
        int n = w.outFeatures(), k = w.inFeatures();
        MemorySegment ref = Panels.allocate(n * 4L);
        ScalarKernels.INSTANCE.fp16(as, w, bias, act, ref, 0, 1, 0, n);
        for (int threads : new int[] {1, 2}) {
            MemorySegment c = Panels.allocate(n * 4L);
            Kernels.linear(as, 1, w, bias, act, c, Int8Mode.AUTO, threads);
            for (int j = 0; j < n; j++) {
                float e = Kernels.getFloat(ref, j), got = Kernels.getFloat(c, j);
                String what = "1x" + n + "x" + k + " " + act + " finite=" + w.finite() + " threads=" + threads + " C[" + j + "]";
                if (!Float.isFinite(e)) {
                    assertEquals(Float.isNaN(e), Float.isNaN(got), what + ": " + e + " vs " + got);
                    if (!Float.isNaN(e)) assertEquals(e, got, what);
                    continue;
                }
                double abs = 0;
                for (int kk = 0; kk < k; kk++) abs += Math.abs(a[kk] * w.get(j, kk));
                double tol = 1.2 * (k + 4) * 0x1p-23 * abs + 4e-6 * (1 + Math.abs(e));
                assertEquals(e, got, tol, what);
            }
        }
    }
}
