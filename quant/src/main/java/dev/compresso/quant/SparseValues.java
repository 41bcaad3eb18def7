package dev.compresso.quant;

import dev.compresso.engine.weights.Bsr16Matrix;
import dev.compresso.engine.weights.BsrMatrix;
import dev.compresso.engine.weights.CsrMatrix;
import dev.compresso.engine.weights.Nm24Matrix;
import dev.compresso.engine.weights.PackedWeights;

/**
 * Quantization of pruned layers in their own sparse format: a pass that quantizes a pruned model keeps every
 * removed weight removed and every layer in the layout the pruning probe chose for it, and changes only the
 * element type of the stored non-zeros (int8 with one scale per output channel, or fp16).
 */
final class SparseValues {
    private SparseValues() {}

    /** Whether {@code w} is one of the sparse formats (CSR, 4x1 or 16x1 block-sparse, 2:4). */
    static boolean isSparse(PackedWeights w) {
        return w instanceof CsrMatrix || w instanceof BsrMatrix || w instanceof Bsr16Matrix || w instanceof Nm24Matrix;
    }

    /**
     * The same sparse layout holding {@code dense} with values of type {@code type}.
     *
     * @param like  the layer's current weights (the format to keep)
     * @param dense row-major {@code W[n][k]} with the pruned entries exactly zero (usually {@code like.toDense()},
     *              possibly rescaled per input column by SmoothQuant)
     * @param type  element type of the stored values
     * @return the repacked weights, or {@code null} when {@code like} is dense or its format cannot store
     *         {@code type} (4x1 BSR stores fp32 only)
     */
    static PackedWeights repack(PackedWeights like, float[] dense, CsrMatrix.ValueType type) {
        int n = like.outFeatures(), k = like.inFeatures();
        return switch (like) {
            case CsrMatrix c -> CsrMatrix.fromDense(dense, n, k, type);
            case Bsr16Matrix b -> Bsr16Matrix.fromDense(dense, n, k, type);
            case Nm24Matrix m -> Nm24Matrix.fromDense(dense, n, k, type);
            case BsrMatrix b -> type == CsrMatrix.ValueType.FP32 ? BsrMatrix.fromDense(dense, n, k) : null;
            default -> null;
        };
    }

    /** Share of zero entries of {@code w}. */
    static double sparsity(float[] w) {
        long z = 0;
        for (float v : w) {
            if (v == 0f) {
                z++;
            }
        }
        return w.length == 0 ? 0 : (double) z / w.length;
    }
}
