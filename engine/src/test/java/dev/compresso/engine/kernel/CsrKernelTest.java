package dev.compresso.engine.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.compresso.engine.weights.CsrMatrix;
import dev.compresso.engine.weights.CsrMatrix.ValueType;
import dev.compresso.engine.weights.Panels;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The CSR kernel of the active provider against the scalar reference and the dense product in double. */
class CsrKernelTest {

    static final int[][] SHAPES = {
        {0, 5, 7}, {1, 1, 1}, {1, 0, 3}, {2, 3, 0}, {1, 17, 33}, {2, 31, 16}, {3, 33, 127}, {7, 15, 17},
        {15, 16, 31}, {16, 17, 15}, {17, 7, 33}, {31, 33, 2}, {33, 127, 31}, {127, 33, 384}, {1, 1000, 384},
        {3, 384, 1000}, {33, 1000, 17}, {16, 2, 1000}, {127, 384, 127},
    };

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        double[] sparsities = {0, 0.5, 0.9, 1.0};
        ValueType[] types = ValueType.values();
        Activation[] acts = Activation.values();
        int i = 0;
        for (int[] s : SHAPES) {
            for (double sp : sparsities) {
                // Rotate the remaining dimensions so every shape meets every type, activation and thread count.
                ValueType t = types[i % types.length];
                Activation act = acts[(i / 3) % acts.length];
                boolean bias = i % 2 == 0;
                int threads = 1 + (i / 2) % 2;
                out.add(Arguments.of(s[0], s[1], s[2], sp, t, act, bias, threads));
                i++;
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "m={0} n={1} k={2} sparsity={3} {4} {5} bias={6} threads={7}")
    @MethodSource("cases")
    void matchesScalarAndDense(int m, int n, int k, double sparsity, ValueType type, Activation act, boolean bias,
            int threads) {
        Random r = new Random(31L * m + 17L * n + k + Double.hashCode(sparsity));
        float[] w = randomSparse(r, n, k, sparsity);
        CsrMatrix s = CsrMatrix.fromDense(w, n, k, type);
        check(r, m, s, bias, act, threads);
    }

    @Test
    void allZeroRowsAndSkewedRows() {
        // Channels with wildly different non-zero counts exercise the balanced split and the empty-row paths.
        int n = 64, k = 300;
        Random r = new Random(5);
        float[] w = new float[n * k];
        for (int j = 0; j < n; j++) {
            int nnz = j % 4 == 0 ? 0 : j < 8 ? k : r.nextInt(10);
            for (int q = 0; q < nnz; q++) {
                w[j * k + (q == nnz - 1 && nnz < k ? r.nextInt(k) : q)] = r.nextFloat() - 0.5f;
            }
        }
        for (ValueType t : ValueType.values()) {
            CsrMatrix s = CsrMatrix.fromDense(w, n, k, t);
            for (int m : new int[] {1, 2, 5, 40}) {
                check(r, m, s, true, Activation.RELU, 2);
                check(r, m, s, false, Activation.NONE, 1);
            }
        }
    }

    @Test
    void largeOutputSplitsAcrossThreads() {
        int m = 9, n = 1000, k = 257;
        Random r = new Random(11);
        CsrMatrix s = CsrMatrix.fromDense(randomSparse(r, n, k, 0.7), n, k, ValueType.FP32);
        check(r, m, s, true, Activation.GELU, 2);
        check(r, 1, s, true, Activation.GELU_TANH, 2);
    }

    @Test
    void fewChannelsSplitOverRows() {
        // One channel, many rows: the split goes over rows instead of channels.
        Random r = new Random(13);
        for (ValueType t : ValueType.values()) {
            CsrMatrix s = CsrMatrix.fromDense(randomSparse(r, 1, 1000, 0.3), 1, 1000, t);
            check(r, 300, s, true, Activation.RELU, 2);
        }
    }

    static float[] randomSparse(Random r, int n, int k, double sparsity) {
        float[] w = new float[n * k];
        for (int i = 0; i < w.length; i++) {
            if (r.nextDouble() >= sparsity) {
                float v = r.nextFloat() - 0.5f;
                w[i] = v == 0f ? 0.25f : v;
            }
        }
        return w;
    }

    static MemorySegment segment(float[] v) {
        MemorySegment s = Panels.allocate(v.length * 4L);
        MemorySegment.copy(v, 0, s, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, v.length);
        return s;
    }

    static void check(Random r, int m, CsrMatrix s, boolean withBias, Activation act, int threads) {
        check(r, m, s, withBias, act, threads, (a, bias, c) -> ScalarKernels.INSTANCE.csr(a, s, bias, act, c, 0, m, 0,
                s.outFeatures()));
    }

    /** The scalar reference of a kernel over the whole output. */
    interface Reference {
        void run(MemorySegment a, MemorySegment bias, MemorySegment c);
    }

    /**
     * Runs {@link Kernels#linear} and {@code reference} on random activations and compares both with the dense
     * product of {@code s.toDense()} in double.
     */
    static void check(Random r, int m, dev.compresso.engine.weights.PackedWeights s, boolean withBias,
            Activation act, int threads, Reference reference) {
        check(r, m, s, withBias, act, reference, (a, bias, c) -> Kernels.linear(a, m, s, bias, act, c, Int8Mode.AUTO,
                threads));
    }

    /** As above with {@code kernel} (a path of a kernel called directly) in place of {@link Kernels#linear}. */
    static void check(Random r, int m, dev.compresso.engine.weights.PackedWeights s, boolean withBias,
            Activation act, Reference reference, Reference kernel) {
        int n = s.outFeatures(), k = s.inFeatures();
        float[] a = new float[m * k];
        for (int i = 0; i < a.length; i++) {
            a[i] = r.nextFloat() * 2 - 1;
        }
        float[] b = new float[n];
        for (int i = 0; i < n; i++) {
            b[i] = r.nextFloat() - 0.5f;
        }
        MemorySegment as = segment(a), bs = withBias ? segment(b) : null;
        MemorySegment c = Panels.allocate((long) m * n * 4);
        MemorySegment ref = Panels.allocate((long) m * n * 4);
        // Poison the output so an unwritten element fails.
        c.fill((byte) 0x7f);
        kernel.run(as, bs, c);
        reference.run(as, bs, ref);
        float[] w = s.toDense();
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double e = 0, mag = 0;
                for (int kk = 0; kk < k; kk++) {
                    double p = (double) a[i * k + kk] * w[j * k + kk];
                    e += p;
                    mag += Math.abs(p);
                }
                if (withBias) {
                    e += b[j];
                    mag += Math.abs(b[j]);
                }
                double expected = act.apply((float) e);
                // fp32 accumulation in another order: error well below 1e-5 of the magnitude of the terms.
                double tol = 1e-5 * mag + 1e-6;
                float got = Kernels.getFloat(c, (long) i * n + j);
                float scalar = Kernels.getFloat(ref, (long) i * n + j);
                if (!(Math.abs(got - expected) <= tol) || !(Math.abs(scalar - expected) <= tol)) {
                    fail("C[" + i + "][" + j + "] of [" + m + ", " + n + ", " + k + "] " + s.format() + " " + act
                            + ": kernel " + got + ", scalar " + scalar + ", dense " + expected + " (tol " + tol + ")");
                }
            }
        }
    }

    // ---------------------------------------------------------------- malformed CSR

    static MemorySegment ints(int... v) {
        MemorySegment s = Panels.allocate(v.length * 4L);
        for (int i = 0; i < v.length; i++) {
            s.setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, i, v[i]);
        }
        return v.length == 0 ? s.asSlice(0, 0) : s;
    }

    static MemorySegment floats(int count) {
        return count == 0 ? Panels.allocate(0).asSlice(0, 0) : Panels.allocate(count * 4L);
    }

    @Test
    void wellFormedCsrIsAccepted() {
        var s = new CsrMatrix(2, 3, ValueType.FP32, ints(0, 1, 3), ints(2, 0, 1), floats(3), null);
        assertEquals(3, s.nnz());
    }

    @Test
    void malformedCsrIsRejected() {
        // rowPtr not starting at 0
        assertBad(() -> new CsrMatrix(2, 3, ValueType.FP32, ints(1, 1, 3), ints(2, 0, 1), floats(3), null), "rowPtr");
        // rowPtr decreasing
        assertBad(() -> new CsrMatrix(2, 3, ValueType.FP32, ints(0, 3, 2), ints(2, 0), floats(2), null), "rowPtr");
        // rowPtr of the wrong length
        assertBad(() -> new CsrMatrix(3, 3, ValueType.FP32, ints(0, 1, 3), ints(2, 0, 1), floats(3), null), "rowPtr");
        // negative nnz
        assertBad(() -> new CsrMatrix(1, 3, ValueType.FP32, ints(0, -1), ints(), floats(0), null), "rowPtr");
        // column out of range
        assertBad(() -> new CsrMatrix(2, 3, ValueType.FP32, ints(0, 1, 3), ints(3, 0, 1), floats(3), null), "column");
        assertBad(() -> new CsrMatrix(2, 3, ValueType.FP32, ints(0, 1, 3), ints(-1, 0, 1), floats(3), null), "column");
        // columns not increasing within a row
        assertBad(() -> new CsrMatrix(2, 3, ValueType.FP32, ints(0, 1, 3), ints(2, 1, 1), floats(3), null), "column");
        // values of the wrong size
        assertBad(() -> new CsrMatrix(2, 3, ValueType.FP32, ints(0, 1, 3), ints(2, 0, 1), floats(2), null), "values");
        // int8 without scales, fp32 with scales
        assertBad(() -> new CsrMatrix(2, 3, ValueType.INT8, ints(0, 1, 3), ints(2, 0, 1), Panels.allocate(3), null),
                "scales");
        assertBad(() -> new CsrMatrix(2, 3, ValueType.FP32, ints(0, 1, 3), ints(2, 0, 1), floats(3), floats(2)),
                "scales");
        // negative shape
        assertBad(() -> new CsrMatrix(-1, 3, ValueType.FP32, ints(0), ints(), floats(0), null), "shape");
    }

    static void assertBad(org.junit.jupiter.api.function.Executable e, String word) {
        var ex = assertThrows(IllegalArgumentException.class, e);
        assertTrue(ex.getMessage().contains(word), ex.getMessage());
    }
}
