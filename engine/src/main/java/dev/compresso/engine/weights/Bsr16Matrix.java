package dev.compresso.engine.weights;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * Block-sparse weights with wide blocks: compressed sparse rows of {@value #BLOCK_ROWS}×1 blocks, i.e. sixteen
 * consecutive output channels at one input are kept or dropped together. A block is one 512-bit vector of fp32
 * weights, so kernels run with lanes over channels like the dense kernel and write C rows directly (no
 * transposes), and the 16-bit block column costs an eighth of a byte per int8 weight.
 *
 * <p>Layout ({@code NB = ceil(N / 16)} block rows; block row {@code b} covers channels {@code 16b .. 16b+15}):
 * <ul>
 *   <li>{@code blockPtr}: {@code NB+1} little-endian int32, {@code blockPtr[0] = 0}, non-decreasing,
 *       {@code blockPtr[NB] = blocks};</li>
 *   <li>{@code blockCol}: {@code blocks} little-endian unsigned 16-bit columns in {@code [0, K)}, strictly
 *       increasing within a block row ({@code K ≤ 65536});</li>
 *   <li>{@code values}: {@code blocks · 16} elements of {@link #valueType()}; block {@code i} of block row
 *       {@code b} holds {@code W[16b + r][blockCol[i]]} at element {@code 16i + r}; rows {@code ≥ N} of the last
 *       block row hold zero;</li>
 *   <li>{@code rowScales}: {@code N} fp32 for int8 values ({@code W = value · scale}), otherwise absent.</li>
 * </ul>
 * Bytes per block: 64 + 2 (fp32), 32 + 2 (fp16), 16 + 2 (int8): an int8 layer at 50% block sparsity takes
 * 0.56 of its dense int8 bytes, indices included.
 *
 * @param outFeatures N
 * @param inFeatures  K
 * @param valueType   element type of {@code values}
 * @param blockPtr    block-row pointers
 * @param blockCol    column of each block
 * @param values      the blocks' weights
 * @param rowScales   per-channel scales for int8, otherwise {@code null}
 */
public record Bsr16Matrix(int outFeatures, int inFeatures, CsrMatrix.ValueType valueType, MemorySegment blockPtr,
        MemorySegment blockCol, MemorySegment values, MemorySegment rowScales) implements PackedWeights {

    /** Output channels per block. */
    public static final int BLOCK_ROWS = 16;

    /** Largest K: block columns are unsigned 16-bit. */
    public static final int MAX_IN_FEATURES = 1 << 16;

    /**
     * Validates sizes and the structure (pointers monotone, columns in range and increasing, zero padding).
     *
     * @throws IllegalArgumentException naming the first inconsistency
     */
    public Bsr16Matrix {
        Panels.checkShape(outFeatures, inFeatures);
        if (inFeatures > MAX_IN_FEATURES) {
            throw new IllegalArgumentException("bsr16 takes at most " + MAX_IN_FEATURES + " inputs, not " + inFeatures);
        }
        int nb = blockRows(outFeatures);
        Panels.checkSize("bsr16 blockPtr", blockPtr, ((long) nb + 1) * 4);
        int blocks = blockPtr.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, nb);
        if (blockPtr.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, 0) != 0 || blocks < 0) {
            throw new IllegalArgumentException("bsr16 blockPtr must start at 0 and end at the block count >= 0");
        }
        Panels.checkSize("bsr16 blockCol", blockCol, (long) blocks * 2);
        Panels.checkSize("bsr16 values", values, (long) blocks * BLOCK_ROWS * valueType.bytes);
        if (valueType == CsrMatrix.ValueType.INT8) {
            if (rowScales == null) {
                throw new IllegalArgumentException("int8 bsr16 needs per-row scales");
            }
            Panels.checkSize("bsr16 row scales", rowScales, (long) outFeatures * 4);
        } else if (rowScales != null) {
            throw new IllegalArgumentException(valueType + " bsr16 takes no row scales");
        }
        int prev = 0;
        for (int b = 0; b < nb; b++) {
            int end = blockPtr.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, b + 1);
            if (end < prev || end > blocks) {
                throw new IllegalArgumentException("bsr16 blockPtr[" + (b + 1) + "] = " + end + " is out of order");
            }
            int last = -1;
            for (int i = prev; i < end; i++) {
                int c = Short.toUnsignedInt(blockCol.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i));
                if (c <= last || c >= inFeatures) {
                    throw new IllegalArgumentException("bsr16 block row " + b + ": column " + c
                            + " out of range or not increasing (K=" + inFeatures + ")");
                }
                last = c;
                for (int r = outFeatures - b * BLOCK_ROWS; r < BLOCK_ROWS; r++) {
                    if (!zero(values, valueType, (long) i * BLOCK_ROWS + r)) {
                        throw new IllegalArgumentException("bsr16 block " + i + ": padding row " + (b * BLOCK_ROWS + r)
                                + " >= N=" + outFeatures + " must be zero");
                    }
                }
            }
            prev = end;
        }
    }

    /** Fields are not assigned yet in the compact constructor: everything comes as arguments. */
    private static boolean zero(MemorySegment values, CsrMatrix.ValueType valueType, long e) {
        return switch (valueType) {
            case FP32 -> values.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, e) == 0;
            case FP16 -> values.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, e) == 0;
            case INT8 -> values.get(ValueLayout.JAVA_BYTE, e) == 0;
        };
    }

    /** Number of block rows for {@code n} output channels. */
    public static int blockRows(int n) {
        return (n + BLOCK_ROWS - 1) / BLOCK_ROWS;
    }

    /** Number of stored blocks. */
    public int blocks() {
        return blockPtr.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, blockRows(outFeatures));
    }

    /** Fraction of weights not stored: {@code 1 - 16·blocks / (N·K)} (0 for an empty matrix). */
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
        return Short.toUnsignedInt(blockCol.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i));
    }

    /** Row {@code r} (0..15) of block {@code i} of block row {@code b}, dequantized to fp32. */
    public float value(int b, int i, int r) {
        long e = (long) i * BLOCK_ROWS + r;
        return switch (valueType) {
            case FP32 -> values.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, e);
            case FP16 -> Float.float16ToFloat(values.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, e));
            case INT8 -> {
                int j = b * BLOCK_ROWS + r;
                yield j < outFeatures
                        ? values.get(ValueLayout.JAVA_BYTE, e) * rowScales.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, j)
                        : 0f;
            }
        };
    }

    /**
     * Builds wide-block-sparse weights from a row-major dense {@code W[n][k]}, keeping every
     * {@value #BLOCK_ROWS}×1 block that has a non-zero element. For int8 each channel is quantized
     * symmetrically to [-127, 127] with its own scale.
     *
     * @throws IllegalArgumentException if {@code w.length != n·k}, a dimension is negative or {@code k > 65536}
     */
    public static Bsr16Matrix fromDense(float[] w, int n, int k, CsrMatrix.ValueType type) {
        Panels.checkDense(w, n, k);
        if (k > MAX_IN_FEATURES) {
            throw new IllegalArgumentException("bsr16 takes at most " + MAX_IN_FEATURES + " inputs, not " + k);
        }
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
        MemorySegment bc = Panels.allocate((long) blocks * 2).asSlice(0, (long) blocks * 2);
        long vb = (long) blocks * BLOCK_ROWS * type.bytes;
        MemorySegment vals = Panels.allocate(vb).asSlice(0, vb);
        MemorySegment rs = type == CsrMatrix.ValueType.INT8 ? Panels.allocate((long) n * 4).asSlice(0, (long) n * 4) : null;
        float[] scale = new float[n];
        for (int j = 0; j < n; j++) {
            float max = 0f;
            for (int c = 0; c < k; c++) {
                max = Math.max(max, Math.abs(w[j * k + c]));
            }
            scale[j] = max == 0f ? 1f : max / 127f;
            if (rs != null) {
                rs.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, j, max == 0f ? 0f : scale[j]);
            }
        }
        int p = 0;
        for (int b = 0; b < nb; b++) {
            bp.setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, b, p);
            for (int c = 0; c < k; c++) {
                if (!keep(w, n, k, b, c)) {
                    continue;
                }
                bc.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, p, (short) c);
                for (int r = 0; r < BLOCK_ROWS; r++) {
                    int j = b * BLOCK_ROWS + r;
                    float v = j < n ? w[j * k + c] : 0f;
                    long e = (long) p * BLOCK_ROWS + r;
                    switch (type) {
                        case FP32 -> vals.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, e, v == 0f ? 0f : v);
                        case FP16 -> vals.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, e, v == 0f ? 0 : Float.floatToFloat16(v));
                        case INT8 -> vals.set(ValueLayout.JAVA_BYTE, e,
                                j < n ? (byte) Math.max(-127, Math.min(127, Math.round(v / scale[j]))) : 0);
                    }
                }
                p++;
            }
        }
        bp.setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, nb, p);
        return new Bsr16Matrix(n, k, type, bp, bc, vals, rs);
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
        return "bsr16x1-" + valueType.name().toLowerCase(java.util.Locale.ROOT);
    }

    @Override
    public List<Part> parts() {
        List<Part> ps = new ArrayList<>();
        ps.add(new Part("block_ptr", "I32", new long[] {blockRows(outFeatures) + 1L}, blockPtr));
        ps.add(new Part("block_col", "U16", new long[] {blocks()}, blockCol));
        ps.add(new Part("values", valueType.dtype, new long[] {blocks(), BLOCK_ROWS}, values));
        if (rowScales != null) {
            ps.add(new Part("row_scales", "F32", new long[] {outFeatures}, rowScales));
        }
        return List.copyOf(ps);
    }

    @Override
    public float[] toDense() {
        float[] w = new float[outFeatures * inFeatures];
        for (int b = 0, nb = blockRows(outFeatures); b < nb; b++) {
            for (int i = blockStart(b), e = blockStart(b + 1); i < e; i++) {
                int c = col(i);
                for (int r = 0; r < BLOCK_ROWS && b * BLOCK_ROWS + r < outFeatures; r++) {
                    w[(b * BLOCK_ROWS + r) * inFeatures + c] = value(b, i, r);
                }
            }
        }
        return w;
    }
}
