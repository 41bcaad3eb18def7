package dev.compresso.engine.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.compresso.engine.weights.CsrMatrix.ValueType;
import dev.compresso.engine.weights.Nm24Matrix;
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

/** The 2:4 kernel of the active provider against the scalar reference and the dense product. */
class Nm24KernelTest {

    static final int[][] SHAPES = {
        {0, 5, 7}, {1, 1, 1}, {1, 0, 3}, {2, 3, 0}, {1, 17, 33}, {2, 31, 16}, {3, 33, 127}, {5, 15, 17},
        {15, 16, 31}, {16, 17, 15}, {17, 7, 33}, {31, 33, 2}, {33, 127, 31}, {127, 33, 384}, {1, 1000, 384},
        {3, 384, 1000}, {33, 1000, 17}, {16, 2, 1000}, {127, 384, 127}, {65, 48, 13}, {2, 64, 6}, {1, 16, 5},
    };

    /** Random 2:4 weights: in each group of four, {@code keep} (0, 1 or 2) random non-zeros. */
    static float[] random24(Random r, int n, int k, double emptyGroups) {
        float[] w = new float[n * k];
        for (int j = 0; j < n; j++) {
            for (int g = 0; g < k; g += 4) {
                if (r.nextDouble() < emptyGroups) {
                    continue;
                }
                int a = r.nextInt(4), b = r.nextInt(4);
                for (int pos : new int[] {a, b}) {
                    if (g + pos < k) {
                        float v = r.nextFloat() - 0.5f;
                        w[j * k + g + pos] = v == 0f ? 0.25f : v;
                    }
                }
            }
        }
        return w;
    }

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        double[] empty = {0, 0.5, 1.0};
        ValueType[] types = ValueType.values();
        Activation[] acts = Activation.values();
        int i = 0;
        for (int[] s : SHAPES) {
            for (double e : empty) {
                out.add(Arguments.of(s[0], s[1], s[2], e, types[i % types.length], acts[(i / 3) % acts.length],
                        i % 2 == 0, 1 + (i / 2) % 2));
                i++;
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "m={0} n={1} k={2} empty={3} {4} {5} bias={6} threads={7}")
    @MethodSource("cases")
    void matchesScalarAndDense(int m, int n, int k, double empty, ValueType type, Activation act, boolean bias,
            int threads) {
        Random r = new Random(29L * m + 7L * n + k + Double.hashCode(empty));
        float[] w = random24(r, n, k, empty);
        Nm24Matrix s = Nm24Matrix.fromDense(w, n, k, type);
        if (type == ValueType.FP32) {
            assertArrayEquals(w, s.toDense());
        }
        CsrKernelTest.check(r, m, s, bias, act, threads,
                (a, b, c) -> ScalarKernels.INSTANCE.nm24(a, s, b, act, c, 0, m, 0, n));
    }

    @Test
    void manyRowsAndChannelsSplitAcrossThreads() {
        Random r = new Random(3);
        int n = 1001, k = 130;
        Nm24Matrix s = Nm24Matrix.fromDense(random24(r, n, k, 0.1), n, k, ValueType.FP32);
        for (int m : new int[] {1, 2, 4, 70, 200}) {
            CsrKernelTest.check(r, m, s, true, Activation.GELU, 2,
                    (a, b, c) -> ScalarKernels.INSTANCE.nm24(a, s, b, Activation.GELU, c, 0, m, 0, n));
        }
    }

    @Test
    void fromDenseKeepsTheTwoLargestOfEachGroup() {
        float[] w = {0.1f, -3f, 2f, 0.5f, /* */ 0f, 0f, 0f, 7f, /* */ 1f};
        Nm24Matrix s = Nm24Matrix.fromDense(w, 1, 9, ValueType.FP32);
        assertArrayEquals(new float[] {0f, -3f, 2f, 0f, 0f, 0f, 0f, 7f, 1f}, s.toDense());
        assertEquals(1, s.position(0, 0, 0));
        assertEquals(2, s.position(0, 0, 1));
        assertEquals("nm24-fp32", s.format());
        // 3 groups, 1 panel: 3·2·16 fp32 values and one index word per lane.
        assertEquals(3 * 2 * 16 * 4 + 16 * 4, s.byteSize());
    }

    @Test
    void malformedIndicesAreRejected() {
        Nm24Matrix ok = Nm24Matrix.fromDense(random24(new Random(1), 3, 10, 0), 3, 10, ValueType.FP32);
        MemorySegment idx = copy(ok.indices());
        idx.set(ValueLayout.JAVA_BYTE, 0, (byte) 0b0101); // group 0 of channel 0: positions 1 and 1
        assertThrows(IllegalArgumentException.class,
                () -> new Nm24Matrix(3, 10, ValueType.FP32, ok.values(), idx, null));
        MemorySegment pad = copy(ok.indices());
        pad.set(ValueLayout.JAVA_BYTE, 4 + 1, (byte) 0x40); // G = 3: nibble 3 of channel 1's word is padding
        assertThrows(IllegalArgumentException.class,
                () -> new Nm24Matrix(3, 10, ValueType.FP32, ok.values(), pad, null));
        MemorySegment vals = copy(ok.values());
        vals.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, 5, 1f); // lane 5 of slot 0: channel 5 >= N = 3
        assertThrows(IllegalArgumentException.class,
                () -> new Nm24Matrix(3, 10, ValueType.FP32, vals, ok.indices(), null));
        assertThrows(IllegalArgumentException.class,
                () -> new Nm24Matrix(3, 10, ValueType.FP32, ok.values().asSlice(4), ok.indices(), null));
        assertThrows(IllegalArgumentException.class,
                () -> new Nm24Matrix(3, 10, ValueType.INT8, ok.values(), ok.indices(), null));
    }

    static MemorySegment copy(MemorySegment s) {
        MemorySegment c = Panels.allocate(Math.max(1, s.byteSize())).asSlice(0, s.byteSize());
        c.copyFrom(s);
        return c;
    }
}
