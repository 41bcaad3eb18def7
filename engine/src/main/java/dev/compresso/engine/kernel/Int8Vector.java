package dev.compresso.engine.kernel;

import dev.compresso.engine.weights.Int8Panels;
import java.lang.foreign.MemorySegment;

/** Vector API int8 GEMM (W8A32, W8A8) and activation quantization. Not yet vectorized: delegates to scalar. */
final class Int8Vector {
    private Int8Vector() {}

    static void w8a32(MemorySegment a, Int8Panels w, MemorySegment bias, Activation act, MemorySegment c,
            int m0, int m1, int n0, int n1) {
        ScalarKernels.INSTANCE.int8W8A32(a, w, bias, act, c, m0, m1, n0, n1);
    }

    static void w8a8(MemorySegment aq, MemorySegment aScale, Int8Panels w, MemorySegment bias, Activation act,
            MemorySegment c, int m0, int m1, int n0, int n1) {
        ScalarKernels.INSTANCE.int8W8A8(aq, aScale, w, bias, act, c, m0, m1, n0, n1);
    }

    static void quantizeRows(MemorySegment a, int k, MemorySegment aq, MemorySegment aScale, int m0, int m1) {
        ScalarKernels.INSTANCE.quantizeRows(a, k, aq, aScale, m0, m1);
    }
}
