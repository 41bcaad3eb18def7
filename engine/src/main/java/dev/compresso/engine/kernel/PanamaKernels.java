package dev.compresso.engine.kernel;

import dev.compresso.engine.weights.BsrMatrix;
import dev.compresso.engine.weights.CsrMatrix;
import dev.compresso.engine.weights.Fp16Panels;
import dev.compresso.engine.weights.Fp32Panels;
import dev.compresso.engine.weights.Int8Panels;
import java.lang.foreign.MemorySegment;

/**
 * The Vector API provider, loaded by name by {@link Kernels} only when {@code jdk.incubator.vector} is
 * readable. One class per kernel family holds the vector code: {@link Fp32Vector}, {@link Fp16Vector},
 * {@link Int8Vector}, {@link CsrVector}.
 */
final class PanamaKernels implements KernelProvider {

    @Override
    public String name() {
        return "panama";
    }

    @Override
    public void fp32(MemorySegment a, Fp32Panels w, MemorySegment bias, Activation act, MemorySegment c,
            int m0, int m1, int n0, int n1) {
        if (ActivationVector.separate(act)) {
            Fp32Vector.gemm(a, w, bias, Activation.NONE, c, m0, m1, n0, n1);
            ActivationVector.apply(act, c, w.outFeatures(), m0, m1, n0, n1);
        } else {
            Fp32Vector.gemm(a, w, bias, act, c, m0, m1, n0, n1);
        }
    }

    @Override
    public void fp16(MemorySegment a, Fp16Panels w, MemorySegment bias, Activation act, MemorySegment c,
            int m0, int m1, int n0, int n1) {
        if (ActivationVector.separate(act)) {
            Fp16Vector.gemm(a, w, bias, Activation.NONE, c, m0, m1, n0, n1);
            ActivationVector.apply(act, c, w.outFeatures(), m0, m1, n0, n1);
        } else {
            Fp16Vector.gemm(a, w, bias, act, c, m0, m1, n0, n1);
        }
    }

    @Override
    public void int8W8A32(MemorySegment a, Int8Panels w, MemorySegment bias, Activation act, MemorySegment c,
            int m0, int m1, int n0, int n1) {
        if (ActivationVector.separate(act)) {
            Int8Vector.w8a32(a, w, bias, Activation.NONE, c, m0, m1, n0, n1);
            ActivationVector.apply(act, c, w.outFeatures(), m0, m1, n0, n1);
        } else {
            Int8Vector.w8a32(a, w, bias, act, c, m0, m1, n0, n1);
        }
    }

    @Override
    public void int8W8A8(MemorySegment aq, MemorySegment aScale, Int8Panels w, MemorySegment bias,
            Activation act, MemorySegment c, int m0, int m1, int n0, int n1) {
        if (ActivationVector.separate(act)) {
            Int8Vector.w8a8(aq, aScale, w, bias, Activation.NONE, c, m0, m1, n0, n1);
            ActivationVector.apply(act, c, w.outFeatures(), m0, m1, n0, n1);
        } else {
            Int8Vector.w8a8(aq, aScale, w, bias, act, c, m0, m1, n0, n1);
        }
    }

    @Override
    public void quantizeRows(MemorySegment a, int k, MemorySegment aq, MemorySegment aScale, int m0, int m1) {
        Int8Vector.quantizeRows(a, k, aq, aScale, m0, m1);
    }

    @Override
    public void quantizeRowsStatic(MemorySegment a, int k, float scale, MemorySegment aq, int m0, int m1) {
        Int8Vector.quantizeRowsStatic(a, k, scale, aq, m0, m1);
    }

    @Override
    public void csr(MemorySegment a, CsrMatrix w, MemorySegment bias, Activation act, MemorySegment c,
            int m0, int m1, int n0, int n1) {
        CsrVector.csr(a, w, bias, act, c, m0, m1, n0, n1);
    }

    @Override
    public void bsr(MemorySegment a, BsrMatrix w, MemorySegment bias, Activation act, MemorySegment c,
            int m0, int m1, int n0, int n1) {
        BsrVector.bsr(a, w, bias, act, c, m0, m1, n0, n1);
    }

    @Override
    public void softmax(float[] x, float[] add, int n) {
        ActivationVector.softmax(x, add, n);
    }

    @Override
    public void layerNorm(float[] x, float[] residual, float[] gamma, float[] beta, float eps, int n) {
        ActivationVector.layerNorm(x, residual, gamma, beta, eps, n);
    }
}
