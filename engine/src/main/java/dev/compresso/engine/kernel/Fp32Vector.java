package dev.compresso.engine.kernel;

import dev.compresso.engine.weights.*;
import java.lang.foreign.MemorySegment;

/** Vector API fp32 GEMM. Not yet vectorized: delegates to the scalar reference. */
final class Fp32Vector {
    private Fp32Vector() {}

    static void gemm(MemorySegment a, Fp32Panels w, MemorySegment bias, Activation act, MemorySegment c, int m0, int m1, int n0, int n1) {
        ScalarKernels.INSTANCE.fp32(a, w, bias, act, c, m0, m1, n0, n1);
    }
}
