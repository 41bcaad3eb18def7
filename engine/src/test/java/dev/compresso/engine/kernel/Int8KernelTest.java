package dev.compresso.engine.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.compresso.engine.weights.Int8Panels;
import dev.compresso.engine.weights.Panels;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The active provider's int8 kernels against {@link ScalarKernels}: W8A8 exactly, W8A32 within fp32 rounding. */
class Int8KernelTest {

    /** {M, N, K}: the awkward sizes 0, 1, 2, 3, 7, 15, 16, 17, 31, 33, 127, 384, 1000 in quick combinations. */
    static final int[][] SHAPES = {
        {0, 16, 16}, {1, 1, 1}, {2, 3, 7}, {3, 17, 0}, {1, 384, 384}, {2, 33, 1000}, {3, 31, 17}, {7, 33, 31},
        {15, 16, 17}, {17, 31, 33}, {16, 2, 1000}, {127, 33, 127}, {33, 127, 384}, {7, 1000, 15}, {6, 17, 3},
        {12, 48, 2}, {13, 1, 384}, {1, 1000, 127}
    };

    static MemorySegment seg(float[] v) {
        MemorySegment s = Panels.allocate(v.length * 4L);
        MemorySegment.copy(v, 0, s, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, v.length);
        return s;
    }

    static float[] floats(MemorySegment s, int count) {
        float[] v = new float[count];
        MemorySegment.copy(s, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, v, 0, count);
        return v;
    }

    static Int8Panels randomWeights(Random r, int n, int k) {
        byte[] q = new byte[n * k];
        float[] sc = new float[n];
        for (int i = 0; i < q.length; i++) {
            int x = r.nextInt(10);
            q[i] = (byte) (x == 0 ? -128 : x == 1 ? 127 : r.nextInt(256) - 128);
        }
        for (int i = 0; i < n; i++) sc[i] = 0.001f + r.nextFloat() * 0.02f;
        return Int8Panels.pack(q, sc, n, k);
    }

    static float[] randomActivations(Random r, int m, int k) {
        float[] a = new float[m * k];
        for (int i = 0; i < a.length; i++) a[i] = (float) r.nextGaussian() * 3f;
        return a;
    }

    /**
     * W8A8 is exact through the int32 sum and the scale/bias epilogue; GELU then runs in vector lanes with an
     * fp32 erf fit (absolute error of erf below 5e-7), so GELU outputs match the double reference within rounding.
     */
    static void assertEpilogue(Activation act, float expected, float actual, String where) {
        if (act == Activation.GELU || act == Activation.GELU_TANH) {
            assertEquals(expected, actual, 4e-6 * (1 + Math.abs(expected)), where);
        } else {
            assertSame(expected, actual, where);
        }
    }

    static void assertSame(float expected, float actual, String where) {
        if (Float.floatToIntBits(expected) != Float.floatToIntBits(actual)) {
            fail(where + ": expected " + expected + " but was " + actual);
        }
    }

    @Test
    void w8a8IsExactAndW8a32WithinRounding() {
        Random r = new Random(42);
        Activation[] acts = Activation.values();
        int idx = 0;
        for (int[] sh : SHAPES) {
            int m = sh[0], n = sh[1], k = sh[2];
            Int8Panels w = randomWeights(r, n, k);
            float[] a = randomActivations(r, m, k);
            MemorySegment as = seg(a);
            float[] b = randomActivations(r, 1, n);
            Activation act = acts[idx % acts.length];
            MemorySegment bias = idx % 2 == 0 ? seg(b) : null;
            idx++;
            // References.
            MemorySegment aq = Panels.allocate((long) m * k), asc = Panels.allocate(m * 4L);
            ScalarKernels.INSTANCE.quantizeRows(as, k, aq, asc, 0, m);
            MemorySegment ref8 = Panels.allocate((long) m * n * 4), ref32 = Panels.allocate((long) m * n * 4);
            if (m > 0) {
                ScalarKernels.INSTANCE.int8W8A8(aq, asc, w, bias, act, ref8, 0, m, 0, n);
                ScalarKernels.INSTANCE.int8W8A32(as, w, bias, act, ref32, 0, m, 0, n);
            }
            for (int threads : new int[] {1, 2}) {
                String where = "shape " + m + "x" + n + "x" + k + " " + act + (bias == null ? "" : "+bias")
                        + " threads=" + threads;
                MemorySegment c = Panels.allocate((long) m * n * 4);
                Kernels.linear(as, m, w, bias, act, c, Int8Mode.W8A8, threads);
                float[] e = floats(ref8, m * n), got = floats(c, m * n);
                for (int i = 0; i < m * n; i++) assertEpilogue(act, e[i], got[i], where + " W8A8 C[" + i / n + "][" + i % n + "]");

                Kernels.linear(as, m, w, bias, act, c, Int8Mode.W8A32, threads);
                e = floats(ref32, m * n);
                got = floats(c, m * n);
                for (int i = 0; i < m; i++) {
                    for (int j = 0; j < n; j++) {
                        double abs = 0;
                        for (int kk = 0; kk < k; kk++) abs += Math.abs(a[i * k + kk] * w.q(j, kk));
                        // fp32 sums in another order: |error| <= k·eps·Σ|a·q|, times the scale; GELU is 1.13-Lipschitz.
                        double tol = 1.2 * ((k + 4) * 0x1p-23 * abs * w.scale(j)) + 4e-6 * (1 + Math.abs(e[i * n + j]));
                        assertEquals(e[i * n + j], got[i * n + j], tol, where + " W8A32 C[" + i + "][" + j + "]");
                    }
                }
                // AUTO runs the mode resolve() names for the shape, bit for bit.
                MemorySegment auto = Panels.allocate((long) m * n * 4);
                Kernels.linear(as, m, w, bias, act, auto, Int8Mode.AUTO, threads);
                Kernels.linear(as, m, w, bias, act, c, Kernels.resolve(Int8Mode.AUTO, m, n, k), threads);
                got = floats(auto, m * n);
                e = floats(c, m * n);
                for (int i = 0; i < m * n; i++) assertSame(e[i], got[i], where + " AUTO C" + i);
            }
        }
    }

    /** Extreme bytes and activations quantizing to ±127 with unit scales: the int32 sums themselves are exact. */
    @Test
    void w8a8Int32AccumulationIsExactAtTheExtremes() {
        Random r = new Random(7);
        for (int[] sh : new int[][] {{5, 33, 1000}, {7, 16, 1}, {1, 17, 999}, {9, 40, 384}}) {
            int m = sh[0], n = sh[1], k = sh[2];
            byte[] q = new byte[n * k];
            float[] ones = new float[n];
            java.util.Arrays.fill(ones, 1f);
            for (int i = 0; i < q.length; i++) q[i] = (byte) (r.nextBoolean() ? -128 : r.nextBoolean() ? 127 : r.nextInt(256) - 128);
            for (int j = 0; j < k; j++) q[j] = -128; // channel 0: the largest products
            Int8Panels w = Int8Panels.pack(q, ones, n, k);
            float[] a = new float[m * k];
            for (int i = 0; i < a.length; i++) a[i] = r.nextBoolean() ? -127f : r.nextBoolean() ? 127f : r.nextInt(255) - 127;
            for (int i = 0; i < m; i++) a[i * k] = -127f; // max |a| = 127 -> scale exactly 1
            for (int i = 0; i < k; i++) a[i] = -127f;     // row 0 x channel 0: k · 16256
            for (int threads : new int[] {1, 2}) {
                MemorySegment c = Panels.allocate((long) m * n * 4);
                Kernels.linear(seg(a), m, w, null, Activation.NONE, c, Int8Mode.W8A8, threads);
                for (int i = 0; i < m; i++) {
                    for (int j = 0; j < n; j++) {
                        long acc = 0;
                        for (int kk = 0; kk < k; kk++) acc += (long) a[i * k + kk] * q[j * k + kk];
                        assertEquals((float) acc, Kernels.getFloat(c, (long) i * n + j), 0f,
                                "C[" + i + "][" + j + "] " + m + "x" + n + "x" + k);
                    }
                }
            }
        }
    }

    @Test
    void quantizeRowsMatchesTheReferenceByteForByte() {
        Random r = new Random(3);
        int k = 333;
        float[][] rows = new float[8][k];
        for (int i = 0; i < k; i++) {
            rows[0][i] = (float) r.nextGaussian();
            rows[1][i] = 0f;                                  // all-zero row: scale 0
            rows[2][i] = (i % 7 - 3) + 0.5f;                  // ties, with max 127 -> inv exactly 1
            rows[3][i] = i % 5 == 0 ? 0.49999997f : -0.49999997f; // just below one half
            rows[4][i] = (float) r.nextGaussian() * 1e-30f;   // tiny scale
            rows[5][i] = (float) r.nextGaussian() * 1e30f;    // huge values
            rows[6][i] = i == 5 ? Float.NaN : 1f;             // NaN poisons the max
            rows[7][i] = -(i % 255 - 127) - 0.5f;
        }
        rows[2][0] = 127f;
        rows[3][1] = 127f;
        checkQuantize(rows, k, null);
        for (float scale : new float[] {1f, 0.5f, 1e-3f, 3.7f, 1e-38f}) checkQuantize(rows, k, scale);
        float[][] special = {{Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, -0f, 126.5f, -126.5f, 127.49f,
            -127.5f, 1e9f, -1e9f, 2.5f, -2.5f, 0.5f, -0.5f, 1.5f, -1.5f, 3.4e38f}};
        checkQuantize(special, special[0].length, 1f);
    }

    private static void checkQuantize(float[][] rows, int k, Float scale) {
        int m = rows.length;
        float[] flat = new float[m * k];
        for (int i = 0; i < m; i++) System.arraycopy(rows[i], 0, flat, i * k, k);
        MemorySegment a = seg(flat);
        MemorySegment q1 = Panels.allocate((long) m * k), q2 = Panels.allocate((long) m * k);
        MemorySegment s1 = Panels.allocate(m * 4L), s2 = Panels.allocate(m * 4L);
        if (scale == null) {
            ScalarKernels.INSTANCE.quantizeRows(a, k, q1, s1, 0, m);
            Kernels.PROVIDER.quantizeRows(a, k, q2, s2, 0, m);
        } else {
            ScalarKernels.INSTANCE.quantizeRowsStatic(a, k, scale, q1, 0, m);
            Kernels.PROVIDER.quantizeRowsStatic(a, k, scale, q2, 0, m);
        }
        for (int i = 0; i < m; i++) {
            assertSame(Kernels.getFloat(s1, i), Kernels.getFloat(s2, i), "scale of row " + i);
            for (int j = 0; j < k; j++) {
                long o = (long) i * k + j;
                assertEquals(q1.get(ValueLayout.JAVA_BYTE, o), q2.get(ValueLayout.JAVA_BYTE, o),
                        "row " + i + " col " + j + " value " + flat[(int) o] + " scale " + scale);
            }
        }
    }

    @Test
    void staticScaleMatchesQuantizeThenW8a8() {
        Random r = new Random(11);
        for (int[] sh : new int[][] {{3, 17, 33}, {16, 40, 384}, {1, 7, 2}}) {
            int m = sh[0], n = sh[1], k = sh[2];
            Int8Panels w = randomWeights(r, n, k);
            float[] a = randomActivations(r, m, k);
            MemorySegment bias = seg(randomActivations(r, 1, n));
            float actScale = 0.05f;
            MemorySegment aq = Panels.allocate((long) m * k), asc = Panels.allocate(m * 4L);
            ScalarKernels.INSTANCE.quantizeRowsStatic(seg(a), k, actScale, aq, 0, m);
            for (int i = 0; i < m; i++) asc.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, actScale);
            MemorySegment ref = Panels.allocate((long) m * n * 4);
            ScalarKernels.INSTANCE.int8W8A8(aq, asc, w, bias, Activation.GELU, ref, 0, m, 0, n);
            for (int threads : new int[] {1, 2}) {
                MemorySegment c = Panels.allocate((long) m * n * 4);
                Kernels.linearInt8Static(seg(a), m, w, actScale, bias, Activation.GELU, c, threads);
                for (int i = 0; i < m * n; i++) assertEpilogue(Activation.GELU, Kernels.getFloat(ref, i), Kernels.getFloat(c, i), "C" + i);
            }
            // Saturation: activations far beyond 127 · actScale clamp to ±127.
            float[] big = new float[m * k];
            java.util.Arrays.fill(big, 1e6f);
            MemorySegment c = Panels.allocate((long) m * n * 4);
            Kernels.linearInt8Static(seg(big), m, w, 1f, null, Activation.NONE, c, 1);
            for (int j = 0; j < n; j++) {
                long acc = 0;
                for (int kk = 0; kk < k; kk++) acc += 127L * w.q(j, kk);
                assertEquals(acc * (1f * w.scale(j)), Kernels.getFloat(c, j), 0f, "saturated C[0][" + j + "]");
            }
        }
    }

    @Test
    void channelScalesMatchTheReferenceAndMeanColumnScaledWeights() {
        Random r = new Random(17);
        for (int[] sh : new int[][] {{3, 17, 33}, {16, 40, 384}, {1, 7, 2}, {5, 9, 17}}) {
            int m = sh[0], n = sh[1], k = sh[2];
            float[] a = randomActivations(r, m, k);
            a[0] = 1e6f; // saturates
            a[a.length - 1] = Float.NaN; // becomes 0
            float[] factors = new float[k];
            for (int j = 0; j < k; j++) factors[j] = j % 5 == 0 ? 8f : 0.25f + r.nextFloat();
            float[] inv = Kernels.channelInverse(0.05f, factors);
            MemorySegment q1 = Panels.allocate((long) m * k), q2 = Panels.allocate((long) m * k);
            ScalarKernels.INSTANCE.quantizeRowsStaticChannels(seg(a), k, inv, q1, 0, m);
            Kernels.PROVIDER.quantizeRowsStaticChannels(seg(a), k, inv, q2, 0, m);
            for (long o = 0; o < (long) m * k; o++) {
                assertEquals(q1.get(ValueLayout.JAVA_BYTE, o), q2.get(ValueLayout.JAVA_BYTE, o), "byte " + o);
                int j = (int) (o % k);
                float x = a[(int) o];
                int expect = Float.isNaN(x) ? 0 : Math.max(-127, Math.min(127, Math.round(x * inv[j])));
                assertEquals(expect, q1.get(ValueLayout.JAVA_BYTE, o), "reference byte " + o);
            }
            Int8Panels w = randomWeights(r, n, k);
            MemorySegment bias = seg(randomActivations(r, 1, n));
            MemorySegment asc = Panels.allocate(m * 4L);
            for (int i = 0; i < m; i++) asc.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, 0.05f);
            MemorySegment ref = Panels.allocate((long) m * n * 4);
            ScalarKernels.INSTANCE.int8W8A8(q1, asc, w, bias, Activation.GELU, ref, 0, m, 0, n);
            for (int threads : new int[] {1, 2}) {
                MemorySegment c = Panels.allocate((long) m * n * 4);
                Kernels.linearInt8Static(seg(a), m, w, 0.05f, inv, bias, Activation.GELU, c, threads);
                for (int i = 0; i < m * n; i++) assertEpilogue(Activation.GELU, Kernels.getFloat(ref, i), Kernels.getFloat(c, i), "C" + i);
            }
            float[] badLen = new float[k + 1];
            java.util.Arrays.fill(badLen, 1f);
            assertThrows(IllegalArgumentException.class, () -> Kernels.linearInt8Static(seg(a), m, w, 0.05f, badLen, bias,
                    Activation.NONE, Panels.allocate((long) m * n * 4), 1));
            float[] zero = inv.clone();
            zero[k / 2] = 0f;
            assertThrows(IllegalArgumentException.class, () -> Kernels.linearInt8Static(seg(a), m, w, 0.05f, zero, bias,
                    Activation.NONE, Panels.allocate((long) m * n * 4), 1));
        }
    }

    @Test
    void autoResolvesToTheMeasuredFasterMode() {
        for (int[] sh : new int[][] {{1, 384, 384}, {1, 1536, 384}, {128, 384, 384}, {128, 1536, 384}, {1024, 1024, 1024},
            {1, 4096, 4096}}) {
            assertEquals(Int8Mode.W8A32, Kernels.resolve(Int8Mode.AUTO, sh[0], sh[1], sh[2]));
        }
        assertEquals(Int8Mode.W8A8, Kernels.resolve(Int8Mode.W8A8, 1, 1, 1));
    }

    @Test
    void staticScaleIsValidated() {
        Int8Panels w = randomWeights(new Random(1), 2, 3);
        for (float bad : new float[] {0f, -1f, Float.NaN, Float.POSITIVE_INFINITY}) {
            var ex = assertThrows(IllegalArgumentException.class, () -> Kernels.linearInt8Static(
                    Panels.allocate(12), 1, w, bad, null, Activation.NONE, Panels.allocate(8), 1));
            assertTrue(ex.getMessage().contains("[2, 3]"), ex.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> Kernels.linearInt8Static(
                Panels.allocate(8), 1, w, 1f, null, Activation.NONE, Panels.allocate(8), 1));
    }
}
