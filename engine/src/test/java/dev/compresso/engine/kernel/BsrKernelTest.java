package dev.compresso.engine.kernel;

import static dev.compresso.engine.kernel.CsrKernelTest.assertBad;
import static dev.compresso.engine.kernel.CsrKernelTest.floats;
import static dev.compresso.engine.kernel.CsrKernelTest.ints;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.compresso.engine.weights.BsrMatrix;
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

/** The block-sparse kernel of the active provider against the scalar reference and the dense product. */
class BsrKernelTest {

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        double[] sparsities = {0, 0.5, 0.9, 1.0};
        Activation[] acts = Activation.values();
        int i = 0;
        for (int[] s : CsrKernelTest.SHAPES) {
            for (double sp : sparsities) {
                // Structured (whole blocks) and unstructured zeros alternate.
                out.add(Arguments.of(s[0], s[1], s[2], sp, i % 2 == 0, acts[(i / 2) % acts.length], i % 3 != 0,
                        1 + (i / 3) % 2));
                i++;
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "m={0} n={1} k={2} sparsity={3} blocks={4} {5} bias={6} threads={7}")
    @MethodSource("cases")
    void matchesScalarAndDense(int m, int n, int k, double sparsity, boolean blocks, Activation act, boolean bias,
            int threads) {
        Random r = new Random(7L * m + 13L * n + k + Double.hashCode(sparsity));
        float[] w = blocks ? blockSparse(r, n, k, sparsity) : CsrKernelTest.randomSparse(r, n, k, sparsity);
        BsrMatrix s = BsrMatrix.fromDense(w, n, k);
        assertArrayEquals(w, s.toDense());
        CsrKernelTest.check(r, m, s, bias, act, threads,
                (a, b, c) -> ScalarKernels.INSTANCE.bsr(a, s, b, act, c, 0, m, 0, n));
    }

    @Test
    void emptyBlockRowsAndSplitAcrossThreads() {
        int n = 1001, k = 130;
        Random r = new Random(3);
        float[] w = blockSparse(r, n, k, 0.6);
        for (int j = 0; j < 200; j++) {
            java.util.Arrays.fill(w, j * k, (j + 1) * k, 0f); // the first 50 block rows are empty
        }
        BsrMatrix s = BsrMatrix.fromDense(w, n, k);
        for (int m : new int[] {1, 3, 4, 37}) {
            CsrKernelTest.check(r, m, s, true, Activation.GELU, 2,
                    (a, b, c) -> ScalarKernels.INSTANCE.bsr(a, s, b, Activation.GELU, c, 0, m, 0, n));
        }
    }

    static float[] blockSparse(Random r, int n, int k, double sparsity) {
        float[] w = new float[n * k];
        for (int b = 0; b < n; b += BsrMatrix.BLOCK_ROWS) {
            for (int c = 0; c < k; c++) {
                if (r.nextDouble() >= sparsity) {
                    for (int j = b; j < Math.min(n, b + BsrMatrix.BLOCK_ROWS); j++) {
                        w[j * k + c] = r.nextFloat() + 0.1f;
                    }
                }
            }
        }
        return w;
    }

    @Test
    void layoutIsAsDocumented() {
        // W is 5x3: block row 0 = channels 0..3, block row 1 = channel 4 plus three padding rows.
        float[] w = {
            0, 1, 0,
            0, 0, 0,
            0, 2, 0,
            0, 0, 3,
            4, 0, 0,
        };
        BsrMatrix s = BsrMatrix.fromDense(w, 5, 3);
        assertEquals(3, s.blocks());
        assertEquals(List.of(0, 2, 3), List.of(s.blockStart(0), s.blockStart(1), s.blockStart(2)));
        assertEquals(List.of(1, 2, 0), List.of(s.col(0), s.col(1), s.col(2)));
        float[] vals = new float[12];
        MemorySegment.copy(s.values(), ValueLayout.JAVA_FLOAT_UNALIGNED, 0, vals, 0, 12);
        assertArrayEquals(new float[] {1, 0, 2, 0, 0, 0, 0, 3, 4, 0, 0, 0}, vals);
        assertEquals(3, s.parts().size());
        assertEquals(3 * 4 + 3 * 4 + 3 * 16, s.byteSize());
        assertEquals("bsr4x1-fp32", s.format());
    }

    @Test
    void malformedBsrIsRejected() {
        // N=5: two block rows.
        assertBad(() -> new BsrMatrix(5, 3, ints(1, 1, 2), ints(0, 1), floats(8)), "blockPtr");
        assertBad(() -> new BsrMatrix(5, 3, ints(0, 2, 1), ints(0), floats(4)), "blockPtr");
        assertBad(() -> new BsrMatrix(5, 3, ints(0, 1), ints(0), floats(4)), "blockPtr");
        assertBad(() -> new BsrMatrix(5, 3, ints(0, 1, 2), ints(3, 0), floats(8)), "column");
        assertBad(() -> new BsrMatrix(5, 3, ints(0, 2, 2), ints(1, 1), floats(8)), "column");
        assertBad(() -> new BsrMatrix(5, 3, ints(0, 1, 2), ints(0, 1), floats(7)), "values");
        MemorySegment padded = Panels.allocate(32);
        padded.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, 5, 1f); // block 1, row 4+1 = 5 >= N
        assertBad(() -> new BsrMatrix(5, 3, ints(0, 1, 2), ints(0, 1), padded), "padding");
        assertBad(() -> new BsrMatrix(-4, 3, ints(0), ints(), floats(0)), "shape");
    }
}
