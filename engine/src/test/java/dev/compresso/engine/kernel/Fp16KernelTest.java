package dev.compresso.engine.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
}
