package dev.compresso.engine.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.compresso.engine.weights.Fp32Panels;
import dev.compresso.engine.weights.Panels;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The fp32 kernel of the active provider, through {@link Kernels#linear}, against the scalar reference and
 * against a double-precision dense product, on awkward shapes (0, 1, primes, tails of the register tile and
 * of the 16-wide panel), every activation, with and without bias, on 1 and 2 threads.
 */
class Fp32KernelTest {

    private static final int[] SMALL = {0, 1, 2, 3, 7, 15, 16, 17, 31, 33, 127};
    private static final Activation[] ACTS = Activation.values();

    /** Random values in [-1, 1) with an occasional exact zero and an occasional large value. */
    private static float[] random(Random r, int size) {
        float[] x = new float[size];
        for (int i = 0; i < size; i++) {
            int kind = r.nextInt(50);
            x[i] = kind == 0 ? 0f : kind == 1 ? 8f * (r.nextFloat() - 0.5f) : 2f * r.nextFloat() - 1f;
        }
        return x;
    }

    private static MemorySegment segment(float[] x) {
        MemorySegment s = Panels.allocate(x.length * 4L);
        MemorySegment.copy(x, 0, s, ValueLayout.JAVA_FLOAT, 0, x.length);
        return s;
    }

    /**
     * Runs one case and checks every element of C; the spare tail of the output segment must stay untouched
     * (the kernel may never write past column N of the last row).
     */
    private static void check(int m, int n, int k, Activation act, boolean withBias, int threads, long seed) {
        Random r = new Random(seed);
        float[] a = random(r, m * k), w = random(r, n * k), b = withBias ? random(r, n) : null;
        Fp32Panels packed = Fp32Panels.pack(w, n, k);
        MemorySegment as = segment(a), bs = b == null ? null : segment(b);
        int spare = 37;
        MemorySegment c = Panels.allocate(((long) m * n + spare) * 4);
        c.fill((byte) 0x7f); // garbage the kernel must overwrite (and must not read as a partial sum)
        Kernels.linear(as, m, packed, bs, act, c, Int8Mode.AUTO, threads);

        MemorySegment ref = Panels.allocate((long) m * n * 4);
        if (m > 0 && n > 0) {
            ScalarKernels.INSTANCE.fp32(as, packed, bs, act, ref, 0, m, 0, n);
        }
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double exact = 0, mag = 0;
                for (int kk = 0; kk < k; kk++) {
                    double p = (double) a[i * k + kk] * w[j * k + kk];
                    exact += p;
                    mag += Math.abs(p);
                }
                if (b != null) {
                    exact += b[j];
                    mag += Math.abs(b[j]);
                }
                // fp32 summation error grows with K; the activations have slope at most ~1.13.
                double tol = 1e-6 + 2.0 * (k + 2) * 0x1p-24 * mag * 1.2;
                float got = Kernels.getFloat(c, (long) i * n + j);
                float scalar = Kernels.getFloat(ref, (long) i * n + j);
                double want = act.apply((float) exact);
                String where = "C[" + i + "][" + j + "] of [" + m + "x" + n + "x" + k + "] " + act
                        + (withBias ? " +bias" : "") + " threads=" + threads;
                if (!(Math.abs(got - want) <= tol + 1e-6 * Math.abs(want))) {
                    fail(where + ": got " + got + ", dense double product gives " + want + " (tol " + tol + ")");
                }
                if (!(Math.abs(got - scalar) <= 2 * tol + 1e-6 * Math.abs(scalar))) {
                    fail(where + ": got " + got + ", scalar reference gives " + scalar);
                }
            }
        }
        for (long e = (long) m * n; e < (long) m * n + spare; e++) {
            assertEquals(0x7f7f7f7f, c.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, e), "wrote past C at element " + e);
        }
    }

    @Test
    void allSmallRowAndChannelCountsForSeveralK() {
        long seed = 1;
        for (int k : new int[] {0, 1, 7, 17, 33}) {
            for (int m : SMALL) {
                for (int n : SMALL) {
                    Activation act = ACTS[(int) (seed % ACTS.length)];
                    check(m, n, k, act, seed % 2 == 0, 1 + (int) (seed % 3 == 0 ? 1 : 0), seed);
                    seed++;
                }
            }
        }
    }

    @Test
    void longKCrossesTheKBlocks() {
        // K around and past one and two K blocks (2048 wide, or set by compresso.fp32.kc), with tail blocks; rows
        // and channels with tails.
        long seed = 100;
        for (int k : new int[] {255, 256, 257, 384, 511, 512, 513, 1000, 1100, 2047, 2048, 2049, 4100}) {
            for (int[] mn : new int[][] {{1, 33}, {2, 17}, {7, 16}, {17, 31}, {33, 15}}) {
                check(mn[0], mn[1], k, ACTS[(int) (seed % ACTS.length)], seed % 2 == 1, 1, seed);
                seed++;
            }
        }
    }

    /**
     * Long K shrinks the row block (packed A stays within the block budget): rows that split into several
     * blocks of equal tile counts plus a ragged end, on one and two threads.
     */
    @Test
    void longKSplitsTheRowsIntoSmallerBlocks() {
        long seed = 150;
        for (int[] mnk : new int[][] {{97, 33, 1537}, {41, 17, 2049}, {130, 20, 1536}, {9, 16, 3000}}) {
            for (int threads : new int[] {1, 2}) {
                check(mnk[0], mnk[1], mnk[2], ACTS[(int) (seed % ACTS.length)], seed % 2 == 0, threads, seed);
                seed++;
            }
        }
    }

    @Test
    void everyActivationWithAndWithoutBiasOnOneAndTwoThreads() {
        long seed = 200;
        for (Activation act : ACTS) {
            for (boolean bias : new boolean[] {false, true}) {
                for (int threads : new int[] {1, 2}) {
                    check(31, 33, 127, act, bias, threads, seed++);
                    check(1, 127, 384, act, bias, threads, seed++);
                    check(16, 16, 16, act, bias, threads, seed++);
                }
            }
        }
    }

    @Test
    void largerShapesSplitOverThreads() {
        check(127, 384, 384, Activation.GELU, true, 2, 300);
        check(1000, 33, 7, Activation.NONE, false, 2, 301);
        // Above Kernels.PARALLEL_MIN_WORK (2^20 multiply-adds): split over channels, uneven panel counts.
        check(7, 1000, 160, Activation.RELU, true, 2, 302);
        check(1, 1100, 1000, Activation.NONE, true, 2, 303);
        check(1, 1000, 1100, Activation.GELU, false, 2, 308);
        check(384, 17, 1000, Activation.GELU_TANH, false, 2, 304);
        check(33, 127, 1000, Activation.RELU, false, 1, 305);
        check(3, 384, 15, Activation.NONE, true, 2, 306);
        check(1000, 15, 127, Activation.GELU, true, 2, 307); // one panel: split over rows
    }

    @Test
    void fusedActivationsMatchTheScalarDefinitionOverTheirWholeRange() {
        // K = 1 and W = 1: C[i][j] = act(a[i]), so the epilogue is checked alone, on a dense grid over
        // [-12, 12], the extremes of float, ±0, ±∞ and NaN, on GEMM tiles, GEMV and the tails of both.
        float[] xs = new float[4801 + 9];
        for (int i = 0; i <= 4800; i++) xs[i] = -12f + i * 0.005f;
        float[] special = {0f, -0f, Float.MAX_VALUE, -Float.MAX_VALUE, Float.MIN_VALUE, Float.POSITIVE_INFINITY,
                Float.NEGATIVE_INFINITY, Float.NaN, 1e-30f};
        System.arraycopy(special, 0, xs, 4801, special.length);
        int n = 37;
        float[] w = new float[n];
        java.util.Arrays.fill(w, 1f);
        Fp32Panels packed = Fp32Panels.pack(w, n, 1);
        for (Activation act : ACTS) {
            for (int m : new int[] {xs.length, 1}) {
                MemorySegment c = Panels.allocate((long) m * n * 4);
                for (int start = 0; start < xs.length; start += m) {
                    MemorySegment as = segment(java.util.Arrays.copyOfRange(xs, start, start + m));
                    Kernels.linear(as, m, packed, null, act, c, Int8Mode.AUTO, 1);
                    for (int i = 0; i < m; i++) {
                        float want = act.apply(xs[start + i]);
                        for (int j = 0; j < n; j++) {
                            float got = Kernels.getFloat(c, (long) i * n + j);
                            boolean ok = Float.isNaN(want) ? Float.isNaN(got)
                                    : Float.isInfinite(want) ? got == want
                                    : Math.abs(got - want) <= 1e-6 + 1e-6 * Math.abs(want);
                            if (!ok) {
                                fail(act + "(" + xs[start + i] + ") = " + got + ", scalar reference " + want
                                        + " (m=" + m + ", column " + j + ")");
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void heapSegmentsOfFloatArraysStillWork() {
        // The Vector API cannot read a heap segment over float[]; the kernel must fall back, not fail.
        int m = 5, n = 19, k = 9;
        Random r = new Random(7);
        float[] a = random(r, m * k), w = random(r, n * k), b = random(r, n);
        float[] c = new float[m * n];
        Kernels.linear(MemorySegment.ofArray(a), m, Fp32Panels.pack(w, n, k), MemorySegment.ofArray(b),
                Activation.NONE, MemorySegment.ofArray(c), Int8Mode.AUTO, 1);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double e = b[j];
                for (int kk = 0; kk < k; kk++) e += (double) a[i * k + kk] * w[j * k + kk];
                assertEquals(e, c[i * n + j], 1e-5, "C[" + i + "][" + j + "]");
            }
        }
    }

    @Test
    void shapeMismatchNamesBothShapes() {
        var w = Fp32Panels.pack(new float[4 * 5], 4, 5);
        var tooSmallA = assertThrows(IllegalArgumentException.class,
                () -> Kernels.linear(Panels.allocate(3 * 4 * 4), 3, w, null, Activation.NONE, Panels.allocate(3 * 4 * 4)));
        assertTrue(tooSmallA.getMessage().contains("[3, 5]") && tooSmallA.getMessage().contains("[4, 5]"),
                tooSmallA.getMessage());
        var tooSmallC = assertThrows(IllegalArgumentException.class,
                () -> Kernels.linear(Panels.allocate(3 * 5 * 4), 3, w, null, Activation.NONE, Panels.allocate(11 * 4)));
        assertTrue(tooSmallC.getMessage().contains("[3, 4]") && tooSmallC.getMessage().contains("[4, 5]"),
                tooSmallC.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> Kernels.linear(Panels.allocate(80), 1, w, Panels.allocate(8), Activation.NONE, Panels.allocate(80)));
        assertThrows(IllegalArgumentException.class,
                () -> Kernels.linear(Panels.allocate(80), 1, w, null, Activation.NONE, Panels.allocate(80), Int8Mode.AUTO, 0));
    }
}
