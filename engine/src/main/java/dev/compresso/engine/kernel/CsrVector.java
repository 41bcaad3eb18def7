package dev.compresso.engine.kernel;

import dev.compresso.engine.weights.*;
import java.lang.foreign.MemorySegment;

/** Vector API CSR sparse x dense. Not yet vectorized: delegates to the scalar reference. */
final class CsrVector {
    private CsrVector() {}

    static void csr(MemorySegment a, CsrMatrix w, MemorySegment bias, Activation act, MemorySegment c, int m0, int m1, int n0, int n1) {
        ScalarKernels.INSTANCE.csr(a, w, bias, act, c, m0, m1, n0, n1);
    }
}
