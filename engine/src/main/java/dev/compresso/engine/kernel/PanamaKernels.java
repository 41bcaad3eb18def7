package dev.compresso.engine.kernel;

import dev.compresso.engine.weights.Bsr16Matrix;
import dev.compresso.engine.weights.BsrMatrix;
import dev.compresso.engine.weights.CsrMatrix;
import dev.compresso.engine.weights.Fp16Panels;
import dev.compresso.engine.weights.Fp32Panels;
import dev.compresso.engine.weights.Int8Panels;
import dev.compresso.engine.weights.Nm24Matrix;
import java.lang.foreign.MemorySegment;

/**
 * The Vector API provider, loaded by name by {@link Kernels} only when {@code jdk.incubator.vector} is
 * readable. One class per kernel family holds the vector code: {@link Fp32Vector}, {@link Fp16Vector},
 * {@link Int8Vector}, {@link CsrVector}.
 */
final class PanamaKernels implements KernelProvider {

    /** A dense kernel run with the epilogue activation it is given. */
    @FunctionalInterface
    private interface Dense {
        void run(Activation epilogue);
    }

    /**
     * Runs {@code kernel} for a block of C; GELU (exact or tanh) is applied afterwards by {@link ActivationVector}
     * over the finished block rather than in the kernel's epilogue (see there for why).
     */
    private static void withActivation(Activation act, MemorySegment c, int n, int m0, int m1, int n0, int n1,
            Dense kernel) {
        if (ActivationVector.separate(act)) {
            kernel.run(Activation.NONE);
            ActivationVector.apply(act, c, n, m0, m1, n0, n1);
        } else {
            kernel.run(act);
        }
    }

    @Override
    public String name() {
        return "panama";
    }

    @Override
    public void fp32(MemorySegment a, Fp32Panels w, MemorySegment bias, Activation act, MemorySegment c,
            int m0, int m1, int n0, int n1) {
        withActivation(act, c, w.outFeatures(), m0, m1, n0, n1,
                e -> Fp32Vector.gemm(a, w, bias, e, c, m0, m1, n0, n1));
    }

    @Override
    public void fp16(MemorySegment a, Fp16Panels w, MemorySegment bias, Activation act, MemorySegment c,
            int m0, int m1, int n0, int n1) {
        withActivation(act, c, w.outFeatures(), m0, m1, n0, n1,
                e -> Fp16Vector.gemm(a, w, bias, e, c, m0, m1, n0, n1));
    }

    @Override
    public void int8W8A32(MemorySegment a, Int8Panels w, MemorySegment bias, Activation act, MemorySegment c,
            int m0, int m1, int n0, int n1) {
        withActivation(act, c, w.outFeatures(), m0, m1, n0, n1,
                e -> Int8Vector.w8a32(a, w, bias, e, c, m0, m1, n0, n1));
    }

    @Override
    public void int8W8A8(MemorySegment aq, MemorySegment aScale, Int8Panels w, MemorySegment bias,
            Activation act, MemorySegment c, int m0, int m1, int n0, int n1) {
        withActivation(act, c, w.outFeatures(), m0, m1, n0, n1,
                e -> Int8Vector.w8a8(aq, aScale, w, bias, e, c, m0, m1, n0, n1));
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
    public void quantizeRowsStaticChannels(MemorySegment a, int k, float[] inv, MemorySegment aq, int m0, int m1) {
        Int8Vector.quantizeRowsStaticChannels(a, k, inv, aq, m0, m1);
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
    public void bsr16(MemorySegment a, Bsr16Matrix w, MemorySegment bias, Activation act, MemorySegment c,
            int m0, int m1, int n0, int n1) {
        Bsr16Vector.bsr16(a, w, bias, act, c, m0, m1, n0, n1);
    }

    @Override
    public void nm24(MemorySegment a, Nm24Matrix w, MemorySegment bias, Activation act, MemorySegment c,
            int m0, int m1, int n0, int n1) {
        Nm24Vector.nm24(a, w, bias, act, c, m0, m1, n0, n1);
    }

    @Override
    public void softmax(float[] x, float[] add, int n) {
        ActivationVector.softmax(x, add, n);
    }

    @Override
    public void attentionHead(float[] q, int qOff, int qStride, float[] k, int kOff, float[] v, int vOff, int s,
            int d, float[] add, int addStride, float[] out, int oOff, int oStride) {
        AttentionVector.head(q, qOff, qStride, k, kOff, v, vOff, s, d, add, addStride, out, oOff, oStride);
    }

    @Override
    public void layerNorm(float[] x, float[] residual, float[] gamma, float[] beta, float eps, int n) {
        ActivationVector.layerNorm(x, residual, gamma, beta, eps, n);
    }

    @Override
    public void gemmNN(int m, int n, int k, float[] a, int aOff, int lda, float[] b, int bOff, int ldb, float[] c,
            int cOff, int ldc, boolean accumulate) {
        TrainingVector.gemmNN(m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, accumulate);
    }

    @Override
    public void gelu(float[] x, float[] y, int from, int to) {
        TrainingVector.gelu(x, y, from, to);
    }

    @Override
    public void geluBackward(float[] x, float[] dy, float[] dx, int from, int to) {
        TrainingVector.geluBackward(x, dy, dx, from, to);
    }
}
