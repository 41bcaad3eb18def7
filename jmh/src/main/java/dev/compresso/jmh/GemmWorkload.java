package dev.compresso.jmh;

import dev.compresso.engine.kernel.Activation;
import dev.compresso.engine.kernel.Int8Mode;
import dev.compresso.engine.kernel.Kernels;
import dev.compresso.engine.weights.Bsr16Matrix;
import dev.compresso.engine.weights.BsrMatrix;
import dev.compresso.engine.weights.CsrMatrix;
import dev.compresso.engine.weights.Fp32Panels;
import dev.compresso.engine.weights.PackedWeights;
import dev.compresso.engine.weights.Panels;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

/**
 * One {@link Kernels#linear} call on random operands, as an {@link Interleaved} workload: fp32 ({@code gemmMxNxK})
 * or block-sparse ({@code sparse-FORMAT-SPARSITY-MxNxK}).
 */
public final class GemmWorkload {
    private GemmWorkload() {}

    /** A call of {@code [m, k] · [n, k]ᵀ} on {@code threads} threads, operands made once. */
    public static Runnable make(int m, int n, int k, int threads) {
        Random r = new Random(1);
        float[] w = new float[Math.multiplyExact(n, k)];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) r.nextGaussian() * 0.05f;
        }
        Fp32Panels packed = Fp32Panels.pack(w, n, k);
        return call(packed, m, k, threads, r);
    }

    /**
     * A call with block-sparse weights: {@code format} {@code bsr} (4x1 blocks, fp32), {@code bsr16} or
     * {@code bsr16-int8} (16x1 blocks), whole blocks zero with probability {@code sparsity}.
     */
    public static Runnable sparse(String format, double sparsity, int m, int n, int k, int threads) {
        PackedWeights w = switch (format) {
            case "bsr" -> BsrMatrix.fromDense(SparseGemmBenchmark.weights(n, k, sparsity, true, new Random(7)), n, k);
            case "bsr16" -> Bsr16Matrix.fromDense(SparseRatio.weights16(n, k, sparsity, new Random(7)), n, k,
                    CsrMatrix.ValueType.FP32);
            case "bsr16-int8" -> Bsr16Matrix.fromDense(SparseRatio.weights16(n, k, sparsity, new Random(7)), n, k,
                    CsrMatrix.ValueType.INT8);
            default -> throw new IllegalArgumentException("sparse format must be bsr, bsr16 or bsr16-int8, not " + format);
        };
        return call(w, m, k, threads, new Random(1));
    }

    private static Runnable call(PackedWeights w, int m, int k, int threads, Random r) {
        MemorySegment a = Panels.allocate((long) m * k * 4), c = Panels.allocate((long) m * w.outFeatures() * 4);
        for (long i = 0; i < (long) m * k; i++) {
            a.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, (float) r.nextGaussian());
        }
        return () -> Kernels.linear(a, m, w, null, Activation.NONE, c, Int8Mode.AUTO, threads);
    }
}
