package dev.compresso.engine.weights;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * Block-sparse fp32 weights: compressed sparse rows of {@value #BLOCK_ROWS}×1 blocks, i.e. four consecutive
 * output channels at one input feature are kept or dropped together (structured sparsity, as block pruning
 * produces). A kernel loads one column of activations per block and feeds four output channels with it.
 *
 * <p>Layout ({@code NB = ceil(N / 4)} block rows; block row {@code b} covers channels {@code 4b .. 4b+3}):
 * <ul>
 *   <li>{@code blockPtr}: {@code NB+1} little-endian int32, {@code blockPtr[0] = 0}, non-decreasing,
 *       {@code blockPtr[NB] = blocks};</li>
 *   <li>{@code blockCol}: {@code blocks} int32 in {@code [0, K)}, strictly increasing within a block row;</li>
 *   <li>{@code values}: {@code blocks · 4} little-endian fp32; block {@code i} of block row {@code b} holds
 *       {@code W[4b + r][blockCol[i]]} at element {@code 4i + r}, {@code r = 0..3}. Rows {@code ≥ N} of the
 *       last block row (padding when {@code N % 4 ≠ 0}) hold zero.</li>
 * </ul>
 * 16 bytes of values and 4 bytes of index per block: 5 bytes per stored weight, against 8 for fp32 CSR.
 *
 * @param outFeatures N
 * @param inFeatures  K
 * @param blockPtr    block-row pointers
 * @param blockCol    column of each block
 * @param values      the blocks' weights
 */
public record BsrMatrix(int outFeatures, int inFeatures, MemorySegment blockPtr, MemorySegment blockCol,
        MemorySegment values) implements PackedWeights {

    /** Output channels per block. */
    public static final int BLOCK_ROWS = 4;

    /**
     * Validates sizes and the structure (pointers monotone, columns in range and increasing, zero padding).
     *
     * @throws IllegalArgumentException naming the first inconsistency
     */
    public BsrMatrix {
        Panels.checkShape(outFeatures, inFeatures);
        int nb = blockRows(outFeatures);
        Panels.checkSize("bsr blockPtr", blockPtr, ((long) nb + 1) * 4);
        int blocks = blockPtr.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, nb);
        if (blockPtr.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, 0) != 0 || blocks < 0) {
            throw new IllegalArgumentException("bsr blockPtr must start at 0 and end at the block count >= 0");
        }
        Panels.checkSize("bsr blockCol", blockCol, (long) blocks * 4);
        Panels.checkSize("bsr values", values, (long) blocks * BLOCK_ROWS * 4);
        int prev = 0;
        for (int b = 0; b < nb; b++) {
            int end = blockPtr.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, b + 1);
            if (end < prev || end > blocks) {
                throw new IllegalArgumentException("bsr blockPtr[" + (b + 1) + "] = " + end + " is out of order");
            }
            int last = -1;
            for (int i = prev; i < end; i++) {
                int c = blockCol.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, i);
                if (c <= last || c >= inFeatures) {
                    throw new IllegalArgumentException("bsr block row " + b + ": column " + c
                            + " out of range or not increasing (K=" + inFeatures + ")");
                }
                last = c;
                for (int r = 0; r < BLOCK_ROWS; r++) {
                    if (b * BLOCK_ROWS + r >= outFeatures
                            && values.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, (long) i * BLOCK_ROWS + r) != 0f) {
                        throw new IllegalArgumentException("bsr block " + i + ": padding row " + (b * BLOCK_ROWS + r)
                                + " >= N=" + outFeatures + " must be zero");
                    }
                }
            }
            prev = end;
        }
    }

    /** Number of block rows for {@code n} output channels. */
    public static int blockRows(int n) {
        return (n + BLOCK_ROWS - 1) / BLOCK_ROWS;
    }

    /** Number of stored blocks. */
    public int blocks() {
        return blockPtr.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, blockRows(outFeatures));
    }

    /** Fraction of weights not stored: {@code 1 - 4·blocks / (N·K)} (0 for an empty matrix). */
    public double sparsity() {
        long total = (long) outFeatures * inFeatures;
        return total == 0 ? 0 : Math.max(0, 1.0 - (double) blocks() * BLOCK_ROWS / total);
    }

    /** Block pointer {@code b}: index of the first block of block row {@code b}. */
    public int blockStart(int b) {
        return blockPtr.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, b);
    }

    /** Column of block {@code i}. */
    public int col(int i) {
        return blockCol.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, i);
    }

    /** Row {@code r} (0..3) of block {@code i}. */
    public float value(int i, int r) {
        return values.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, (long) i * BLOCK_ROWS + r);
    }

    /**
     * Builds block-sparse weights from a row-major dense {@code W[n][k]}, keeping every
     * {@value #BLOCK_ROWS}×1 block that has a non-zero element.
     *
     * @throws IllegalArgumentException if {@code w.length != n·k} or a dimension is negative
     */
    public static BsrMatrix fromDense(float[] w, int n, int k) {
        Panels.checkDense(w, n, k);
        int nb = blockRows(n);
        int blocks = 0;
        for (int b = 0; b < nb; b++) {
            for (int c = 0; c < k; c++) {
                if (keep(w, n, k, b, c)) {
                    blocks++;
                }
            }
        }
        MemorySegment bp = Panels.allocate(((long) nb + 1) * 4);
        // Exact sizes: Panels.allocate rounds 0 bytes up to 1, which the constructor would reject.
        MemorySegment bc = Panels.allocate((long) blocks * 4).asSlice(0, (long) blocks * 4);
        MemorySegment vals = Panels.allocate((long) blocks * BLOCK_ROWS * 4).asSlice(0, (long) blocks * BLOCK_ROWS * 4);
        int p = 0;
        for (int b = 0; b < nb; b++) {
            bp.setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, b, p);
            for (int c = 0; c < k; c++) {
                if (!keep(w, n, k, b, c)) {
                    continue;
                }
                bc.setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, p, c);
                for (int r = 0; r < BLOCK_ROWS; r++) {
                    int j = b * BLOCK_ROWS + r;
                    vals.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, (long) p * BLOCK_ROWS + r, j < n ? w[j * k + c] : 0f);
                }
                p++;
            }
        }
        bp.setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, nb, p);
        return new BsrMatrix(n, k, bp, bc, vals);
    }

    private static boolean keep(float[] w, int n, int k, int b, int c) {
        for (int j = b * BLOCK_ROWS; j < Math.min(n, (b + 1) * BLOCK_ROWS); j++) {
            if (w[j * k + c] != 0f) {
                return true;
            }
        }
        return false;
    }

    @Override
    public String format() {
        return "bsr4x1-fp32";
    }

    @Override
    public List<Part> parts() {
        return List.of(
                new Part("block_ptr", "I32", new long[] {blockRows(outFeatures) + 1L}, blockPtr),
                new Part("block_col", "I32", new long[] {blocks()}, blockCol),
                new Part("values", "F32", new long[] {blocks(), BLOCK_ROWS}, values));
    }

    @Override
    public float[] toDense() {
        float[] w = new float[outFeatures * inFeatures];
        for (int b = 0, nb = blockRows(outFeatures); b < nb; b++) {
            for (int i = blockStart(b), e = blockStart(b + 1); i < e; i++) {
                int c = col(i);
                for (int r = 0; r < BLOCK_ROWS && b * BLOCK_ROWS + r < outFeatures; r++) {
                    w[(b * BLOCK_ROWS + r) * inFeatures + c] = value(i, r);
                }
            }
        }
        return w;
    }
}
