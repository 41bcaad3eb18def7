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
 * The kernels behind {@link Kernels}. Implementations do not check their contract: {@link Kernels} validated
 * shapes and sizes. Every method computes output rows {@code [m0, m1)} and output channels
 * {@code [n0, n1)} of {@code C = act(A · Wᵀ + bias)}; for panel formats {@code n0} is a multiple of 16.
 * {@code A} is row-major {@code [m, K]} fp32, {@code C} row-major {@code [m, N]} fp32, {@code bias} is
 * {@code N} fp32 or {@code null}.
 */
interface KernelProvider {

    String name();

    void fp32(MemorySegment a, Fp32Panels w, MemorySegment bias, Activation act, MemorySegment c,
            int m0, int m1, int n0, int n1);

    void fp16(MemorySegment a, Fp16Panels w, MemorySegment bias, Activation act, MemorySegment c,
            int m0, int m1, int n0, int n1);

    /** int8 weights, fp32 activations. */
    void int8W8A32(MemorySegment a, Int8Panels w, MemorySegment bias, Activation act, MemorySegment c,
            int m0, int m1, int n0, int n1);

    /**
     * int8 weights, int8 activations {@code aq} ({@code [m, K]} bytes in [-127, 127]) with one scale per row
     * {@code aScale} ({@code m} floats); exact int32 accumulation, then
     * {@code C = act(acc · aScale[row] · wScale[col] + bias)}.
     */
    void int8W8A8(MemorySegment aq, MemorySegment aScale, Int8Panels w, MemorySegment bias, Activation act,
            MemorySegment c, int m0, int m1, int n0, int n1);

    /**
     * Quantizes rows {@code [m0, m1)} of {@code a} ({@code [m, k]} fp32) symmetrically per row:
     * {@code aScale[r] = max|a[r]| / 127} (0 for an all-zero row) and {@code aq = round(a / aScale)}
     * (rounded by {@link Math#round(float)}, clamped to [-127, 127]). Scales are computed in fp32 exactly as
     * the scalar reference does, so every provider yields identical bytes.
     */
    void quantizeRows(MemorySegment a, int k, MemorySegment aq, MemorySegment aScale, int m0, int m1);

    /**
     * Quantizes rows {@code [m0, m1)} of {@code a} ({@code [m, k]} fp32) with a fixed scale:
     * {@code aq = clamp(round(a · (1 / scale)), -127, 127)}, rounded by {@link Math#round(float)}; NaN becomes 0.
     * {@code scale} is positive and finite. Every provider yields identical bytes.
     */
    void quantizeRowsStatic(MemorySegment a, int k, float scale, MemorySegment aq, int m0, int m1);

    /**
     * As {@link #quantizeRowsStatic} with one inverse scale per input channel: {@code aq[i][j] =
     * clamp(Math.round(a[i][j] · inv[j]), -127, 127)} ({@code inv.length == k}).
     */
    void quantizeRowsStaticChannels(MemorySegment a, int k, float[] inv, MemorySegment aq, int m0, int m1);

    void csr(MemorySegment a, CsrMatrix w, MemorySegment bias, Activation act, MemorySegment c,
            int m0, int m1, int n0, int n1);

    /** Block-sparse weights; {@code n0} is a multiple of {@link BsrMatrix#BLOCK_ROWS}. */
    void bsr(MemorySegment a, BsrMatrix w, MemorySegment bias, Activation act, MemorySegment c,
            int m0, int m1, int n0, int n1);

    /** 16×1 block-sparse weights; {@code n0} is a multiple of {@link Bsr16Matrix#BLOCK_ROWS}. */
    void bsr16(MemorySegment a, Bsr16Matrix w, MemorySegment bias, Activation act, MemorySegment c,
            int m0, int m1, int n0, int n1);

    /** 2:4 sparse weights; {@code n0} is a multiple of {@link dev.compresso.engine.weights.Nm24Matrix#PANEL}. */
    void nm24(MemorySegment a, Nm24Matrix w, MemorySegment bias, Activation act, MemorySegment c,
            int m0, int m1, int n0, int n1);

    /**
     * Softmax of {@code x[0..n)} in place, after adding {@code add[0..n)} (an attention mask row) when it is not
     * {@code null}: {@code exp(x - max) / sum}.
     */
    void softmax(float[] x, float[] add, int n);

    /**
     * One attention head, {@code O = softmax(Q · Kᵀ + add) · V} for {@code s} queries and keys of width {@code d}:
     * Q row {@code i} at {@code q[qOff + i·qStride ..]}; K (softmax scale folded in) in panel layout
     * ({@link dev.compresso.engine.weights.Panels#index}, {@code s} rows of {@code d}) from {@code k[kOff]};
     * {@code Vᵀ} in panel layout ({@code d} rows of {@code s}) from {@code v[vOff]}; mask row of query {@code i}
     * at {@code add[i·addStride ..]} (or {@code null}); O row {@code i} to {@code out[oOff + i·oStride ..]}.
     */
    void attentionHead(float[] q, int qOff, int qStride, float[] k, int kOff, float[] v, int vOff, int s, int d,
            float[] add, int addStride, float[] out, int oOff, int oStride);

    /**
     * Layer normalization of {@code x[0..n)} in place, after adding {@code residual[0..n)} when it is not
     * {@code null}: {@code (x - mean) / sqrt(var + eps) * gamma + beta}.
     */
    void layerNorm(float[] x, float[] residual, float[] gamma, float[] beta, float eps, int n);

    /**
     * Small row-major product for the training kernels, vectorised over {@code n}:
     * {@code C[i][j] (+)= Σ_p A[i][p] · B[p][j]} for {@code i < m, j < n, p < k}, with {@code A[i][p]} at
     * {@code a[aOff + i·lda + p]}, {@code B[p][j]} at {@code b[bOff + p·ldb + j]}, {@code C[i][j]} at
     * {@code c[cOff + i·ldc + j]}; {@code accumulate} adds to C instead of overwriting it.
     */
    void gemmNN(int m, int n, int k, float[] a, int aOff, int lda, float[] b, int bOff, int ldb, float[] c, int cOff,
            int ldc, boolean accumulate);

    /** Exact GELU {@code y = x · Φ(x)} over {@code [from, to)}. */
    void gelu(float[] x, float[] y, int from, int to);

    /** {@code dx = dy · (Φ(x) + x · φ(x))} over {@code [from, to)} ({@code dx} may be {@code dy}). */
    void geluBackward(float[] x, float[] dy, float[] dx, int from, int to);
}
