package dev.compresso.prune;

import dev.compresso.engine.weights.BsrMatrix;
import dev.compresso.engine.weights.CsrMatrix;
import dev.compresso.engine.weights.PackedWeights;

/**
 * The sparsity pattern a weight matrix follows, read from its zeros (so {@code inspect} can show it for any
 * model file, whoever pruned it).
 */
public enum Pattern {
    /** No zero weight. */
    DENSE("dense"),
    /** Every group of 4 consecutive weights along {@code K} has at most 2 non-zeros. */
    NM_2_4("2:4"),
    /** Zeros come in whole 16x1 blocks (the bsr16 kernel's block shape). */
    BLOCK_16X1("block16x1"),
    /** Zeros come in whole {@value BsrMatrix#BLOCK_ROWS}x1 blocks (the BSR kernel's block shape). */
    BLOCK_4X1("block4x1"),
    /** Zeros anywhere. */
    UNSTRUCTURED("unstructured");

    private final String label;

    Pattern(String label) {
        this.label = label;
    }

    /** @return the short name used in reports, e.g. {@code "2:4"} */
    public String label() {
        return label;
    }

    /**
     * Classifies weights by their zeros: whole 16x1, then 4x1 blocks are checked first, then 2:4 (only when some weight
     * is zero; a matrix whose few zeros happen to fill whole blocks reads as block-sparse).
     *
     * @param w packed weights
     * @return the pattern
     */
    public static Pattern of(PackedWeights w) {
        return of(w.toDense(), w.outFeatures(), w.inFeatures());
    }

    /**
     * @param w row-major dense {@code W[n][k]}
     * @param n rows
     * @param k columns
     * @return the pattern of its zeros
     */
    public static Pattern of(float[] w, int n, int k) {
        if (Masks.zeros(w) == 0) {
            return DENSE;
        }
        // Blocks first: heavily block-pruned matrices often satisfy 2:4 too, 2:4 ones almost never form blocks.
        if (isBlock(w, n, k, 16)) {
            return BLOCK_16X1;
        }
        if (isBlock(w, n, k, BsrMatrix.BLOCK_ROWS)) {
            return BLOCK_4X1;
        }
        if (k >= 4 && isNm(w, n, k, 2, 4)) {
            return NM_2_4;
        }
        return UNSTRUCTURED;
    }

    /** Whether every group of {@code m} along K (the last one possibly shorter) has at most {@code keep} non-zeros. */
    static boolean isNm(float[] w, int n, int k, int keep, int m) {
        for (int r = 0; r < n; r++) {
            for (int c0 = 0; c0 < k; c0 += m) {
                int nz = 0;
                for (int c = c0; c < Math.min(k, c0 + m); c++) {
                    nz += w[r * k + c] != 0f ? 1 : 0;
                }
                if (nz > keep) {
                    return false;
                }
            }
        }
        return true;
    }

    /** Whether every {@code br}x1 block ({@code br} output channels at one input feature) is all zero or all non-zero. */
    static boolean isBlock(float[] w, int n, int k, int br) {
        for (int b = 0; b < (n + br - 1) / br; b++) {
            for (int c = 0; c < k; c++) {
                int nz = 0, len = 0;
                for (int r = b * br; r < Math.min(n, (b + 1) * br); r++) {
                    nz += w[r * k + c] != 0f ? 1 : 0;
                    len++;
                }
                if (nz != 0 && nz != len) {
                    return false;
                }
            }
        }
        return true;
    }

    /** Fraction of exactly-zero weights (CSR and BSR: of weights not stored or stored as zero). */
    public static double sparsity(PackedWeights w) {
        if (w instanceof CsrMatrix c) {
            return c.sparsity();
        }
        float[] d = w.toDense();
        return d.length == 0 ? 0 : (double) Masks.zeros(d) / d.length;
    }
}
