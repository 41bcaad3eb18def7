package dev.compresso.engine.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.compresso.engine.weights.Bsr16Matrix;
import dev.compresso.engine.weights.CsrMatrix.ValueType;
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

/** The 16×1 block-sparse kernel of the active provider against the scalar reference and the dense product. */
class Bsr16KernelTest {

    static final int[][] SHAPES = {
        {0, 5, 7}, {1, 1, 1}, {1, 0, 3}, {2, 3, 0}, {1, 17, 33}, {2, 31, 16}, {3, 33, 127}, {5, 15, 17},
        {15, 16, 31}, {16, 17, 15}, {17, 7, 33}, {31, 33, 2}, {33, 127, 31}, {127, 33, 384}, {1, 1000, 384},
        {3, 384, 1000}, {33, 1000, 17}, {16, 2, 1000}, {127, 384, 127}, {9, 48, 13}, {8, 64, 6},
    };

    /** Whole 16×1 blocks zero with probability {@code sparsity}. */
    static float[] blockSparse16(Random r, int n, int k, double sparsity) {
        float[] w = new float[n * k];
        for (int b = 0; b < n; b += Bsr16Matrix.BLOCK_ROWS) {
            for (int c = 0; c < k; c++) {
                if (r.nextDouble() >= sparsity) {
                    for (int j = b; j < Math.min(n, b + Bsr16Matrix.BLOCK_ROWS); j++) {
                        w[j * k + c] = r.nextFloat() - 0.5f;
                    }
                }
            }
        }
        return w;
    }

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        double[] sparsities = {0, 0.5, 0.9, 1.0};
        ValueType[] types = ValueType.values();
        Activation[] acts = Activation.values();
        int i = 0;
        for (int[] s : SHAPES) {
            for (double sp : sparsities) {
                // Whole blocks and unstructured zeros alternate (the latter keep almost every block).
                out.add(Arguments.of(s[0], s[1], s[2], sp, i % 2 == 0, types[i % types.length],
                        acts[(i / 3) % acts.length], i % 3 != 0, 1 + (i / 2) % 2));
                i++;
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "m={0} n={1} k={2} sparsity={3} blocks={4} {5} {6} bias={7} threads={8}")
    @MethodSource("cases")
    void matchesScalarAndDense(int m, int n, int k, double sparsity, boolean blocks, ValueType type, Activation act,
            boolean bias, int threads) {
        Random r = new Random(11L * m + 5L * n + k + Double.hashCode(sparsity));
        float[] w = blocks ? blockSparse16(r, n, k, sparsity) : CsrKernelTest.randomSparse(r, n, k, sparsity);
        Bsr16Matrix s = Bsr16Matrix.fromDense(w, n, k, type);
        if (type == ValueType.FP32) {
            assertArrayEquals(w, s.toDense());
        }
        CsrKernelTest.check(r, m, s, bias, act, threads,
                (a, b, c) -> ScalarKernels.INSTANCE.bsr16(a, s, b, act, c, 0, m, 0, n));
    }

    /** Shapes for the rows-as-lanes path: row counts around the Aᵀ block sizes, odd K, N with a partial block row. */
    static Stream<Arguments> rowsCases() {
        List<Arguments> out = new ArrayList<>();
        ValueType[] types = ValueType.values();
        Activation[] acts = {Activation.NONE, Activation.GELU, Activation.RELU, Activation.GELU};
        int i = 0;
        for (int m : new int[] {1, 2, 15, 17, 63, 64, 65, 130}) {
            for (int k : new int[] {37, 383}) {
                for (int n : new int[] {48, 93}) {
                    for (double sp : new double[] {0, 0.5, 1.0}) {
                        out.add(Arguments.of(m, n, k, sp, types[(i + i / 3) % 3], acts[(i / 3) % acts.length], (i / 2) % 2 == 0,
                                1 + (i / 6) % 2));
                        i++;
                    }
                }
            }
        }
        // K large enough that the Aᵀ scratch holds fewer rows than m: several super-blocks of rows.
        for (ValueType t : types) {
            out.add(Arguments.of(130, 93, 4099, 0.5, t, Activation.GELU, true, 2));
        }
        return out.stream();
    }

    /** {@link Bsr16Vector#rows} called directly, under the thread split of {@link Kernels#linear}. */
    @ParameterizedTest(name = "m={0} n={1} k={2} sparsity={3} {4} {5} bias={6} threads={7}")
    @MethodSource("rowsCases")
    void rowsPathMatchesScalar(int m, int n, int k, double sparsity, ValueType type, Activation act, boolean bias,
            int threads) {
        Random r = new Random(31L * m + 7L * n + k + Double.hashCode(sparsity));
        Bsr16Matrix s = Bsr16Matrix.fromDense(blockSparse16(r, n, k, sparsity), n, k, type);
        CsrKernelTest.check(r, m, s, bias, act, (a, b, c) -> ScalarKernels.INSTANCE.bsr16(a, s, b, act, c, 0, m, 0, n),
                (a, b, c) -> Kernels.splitSparse(m, n, Bsr16Matrix.BLOCK_ROWS,
                        g -> ((long) s.blockStart(g) + g) * Bsr16Matrix.BLOCK_ROWS, threads,
                        (m0, m1, n0, n1) -> Bsr16Vector.rows(a, s, b, act, c, m0, m1, n0, n1)));
    }

    /**
     * The dispatch (whole row blocks as rows, the rest as channel tiles) against the channel-lane path alone, at row
     * counts with and without a remainder.
     */
    @Test
    void mixedAndChannelPathsAgree() {
        int n = 93, k = 383;
        Random r = new Random(5);
        for (ValueType t : ValueType.values()) {
            Bsr16Matrix s = Bsr16Matrix.fromDense(blockSparse16(r, n, k, 0.5), n, k, t);
            for (int m : new int[] {BsrVector.W2 - 1, BsrVector.W2, BsrVector.W2 + 1, 2 * BsrVector.W2 + 9}) {
                CsrKernelTest.check(r, m, s, true, Activation.GELU,
                        (a, b, c) -> Bsr16Vector.channels(a, s, b, Activation.GELU, c, 0, m, 0, n),
                        (a, b, c) -> Bsr16Vector.bsr16(a, s, b, Activation.GELU, c, 0, m, 0, n));
            }
        }
    }

    @Test
    void emptyBlockRowsAndSplitAcrossThreads() {
        int n = 1001, k = 130;
        Random r = new Random(3);
        float[] w = blockSparse16(r, n, k, 0.6);
        java.util.Arrays.fill(w, 0, 160 * k, 0f); // the first ten block rows are empty
        for (ValueType t : ValueType.values()) {
            Bsr16Matrix s = Bsr16Matrix.fromDense(w, n, k, t);
            for (int m : new int[] {1, 3, 8, 37}) {
                CsrKernelTest.check(r, m, s, true, Activation.GELU, 2,
                        (a, b, c) -> ScalarKernels.INSTANCE.bsr16(a, s, b, Activation.GELU, c, 0, m, 0, n));
            }
        }
    }

    @Test
    void layoutAndSize() {
        // 17 channels: block row 0 = channels 0..15, block row 1 = channel 16 and 15 padding rows.
        int n = 17, k = 3;
        float[] w = new float[n * k];
        w[2] = 1f;           // channel 0, column 2
        w[16 * k] = 2f;      // channel 16, column 0
        Bsr16Matrix s = Bsr16Matrix.fromDense(w, n, k, ValueType.INT8);
        assertEquals(2, s.blocks());
        assertEquals(2, s.col(0));
        assertEquals(0, s.col(1));
        assertEquals("bsr16x1-int8", s.format());
        // 3 block pointers, 2 u16 columns, 2·16 int8 values, 17 scales.
        assertEquals(3 * 4 + 2 * 2 + 2 * 16 + 17 * 4, s.byteSize());
        assertArrayEquals(w, s.toDense(), 1e-6f);
    }

    @Test
    void malformedIsRejected() {
        Bsr16Matrix ok = Bsr16Matrix.fromDense(blockSparse16(new Random(1), 20, 10, 0.3), 20, 10, ValueType.FP32);
        MemorySegment cols = Nm24KernelTest.copy(ok.blockCol());
        cols.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, 0, (short) 10);
        assertThrows(IllegalArgumentException.class,
                () -> new Bsr16Matrix(20, 10, ValueType.FP32, ok.blockPtr(), cols, ok.values(), null));
        MemorySegment vals = Nm24KernelTest.copy(ok.values());
        int lastRow = ok.blockStart(1); // first block of block row 1: rows 20..31 are padding
        vals.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, (long) lastRow * 16 + 15, 1f);
        assertThrows(IllegalArgumentException.class,
                () -> new Bsr16Matrix(20, 10, ValueType.FP32, ok.blockPtr(), ok.blockCol(), vals, null));
        assertThrows(IllegalArgumentException.class, () -> Bsr16Matrix.fromDense(new float[70000], 1, 70000, ValueType.FP32));
    }
}
