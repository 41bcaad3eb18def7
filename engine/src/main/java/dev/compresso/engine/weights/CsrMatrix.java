package dev.compresso.engine.weights;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * Sparse weights in compressed sparse row form, one row per output channel.
 *
 * <p>Layout: {@code rowPtr} is {@code N+1} little-endian int32 (non-decreasing, {@code rowPtr[0] = 0},
 * {@code rowPtr[N] = nnz}); {@code colIdx} is {@code nnz} int32 in {@code [0, K)}, increasing within a row;
 * {@code values} holds {@code nnz} elements of {@link #valueType()}: fp32, fp16 bits, or int8 with one fp32
 * scale per row in {@code rowScales} ({@code N} floats; absent otherwise).
 *
 * @param outFeatures N
 * @param inFeatures  K
 * @param valueType   element type of {@code values}
 * @param rowPtr      row pointers
 * @param colIdx      column indices
 * @param values      non-zero values
 * @param rowScales   per-row scales for {@link ValueType#INT8}, otherwise {@code null}
 */
public record CsrMatrix(int outFeatures, int inFeatures, ValueType valueType, MemorySegment rowPtr,
        MemorySegment colIdx, MemorySegment values, MemorySegment rowScales) implements PackedWeights {

    /** Element type of the stored non-zeros. */
    public enum ValueType {
        FP32(4, "F32"), FP16(2, "F16"), INT8(1, "I8");

        final int bytes;
        final String dtype;

        ValueType(int bytes, String dtype) {
            this.bytes = bytes;
            this.dtype = dtype;
        }

        /** Bytes per stored value. */
        public int bytes() {
            return bytes;
        }
    }

    /**
     * Validates sizes and the structure (row pointers monotone, column indices in range and increasing).
     *
     * @throws IllegalArgumentException naming the first inconsistency
     */
    public CsrMatrix {
        Panels.checkShape(outFeatures, inFeatures);
        Panels.checkSize("csr rowPtr", rowPtr, ((long) outFeatures + 1) * 4);
        int nnz = rowPtr.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, outFeatures);
        if (rowPtr.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, 0) != 0 || nnz < 0) {
            throw new IllegalArgumentException("csr rowPtr must start at 0 and end at nnz >= 0");
        }
        Panels.checkSize("csr colIdx", colIdx, (long) nnz * 4);
        Panels.checkSize("csr values", values, (long) nnz * valueType.bytes);
        if (valueType == ValueType.INT8) {
            if (rowScales == null) {
                throw new IllegalArgumentException("int8 csr needs per-row scales");
            }
            Panels.checkSize("csr row scales", rowScales, (long) outFeatures * 4);
        } else if (rowScales != null) {
            throw new IllegalArgumentException(valueType + " csr takes no row scales");
        }
        int prev = 0;
        for (int r = 0; r < outFeatures; r++) {
            int end = rowPtr.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, r + 1);
            if (end < prev || end > nnz) {
                throw new IllegalArgumentException("csr rowPtr[" + (r + 1) + "] = " + end + " is out of order");
            }
            int last = -1;
            for (int i = prev; i < end; i++) {
                int c = colIdx.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, i);
                if (c <= last || c >= inFeatures) {
                    throw new IllegalArgumentException(
                            "csr row " + r + ": column index " + c + " out of range or not increasing (K=" + inFeatures + ")");
                }
                last = c;
            }
            prev = end;
        }
    }

    /** Number of stored non-zeros. */
    public int nnz() {
        return rowPtr.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, outFeatures);
    }

    /** Fraction of zeros: {@code 1 - nnz / (N·K)} (0 for an empty matrix). */
    public double sparsity() {
        long total = (long) outFeatures * inFeatures;
        return total == 0 ? 0 : 1.0 - (double) nnz() / total;
    }

    /** Row pointer {@code r}. */
    public int rowStart(int r) {
        return rowPtr.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, r);
    }

    /** Column index of non-zero {@code i}. */
    public int col(int i) {
        return colIdx.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, i);
    }

    /** Value of non-zero {@code i} in row {@code r}, dequantized to fp32. */
    public float value(int r, int i) {
        return switch (valueType) {
            case FP32 -> values.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i);
            case FP16 -> Float.float16ToFloat(values.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i));
            case INT8 -> values.get(ValueLayout.JAVA_BYTE, i) * rowScales.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, r);
        };
    }

    /**
     * Builds a CSR matrix from a row-major dense {@code W[n][k]}, keeping the non-zero entries.
     * For {@link ValueType#INT8} each row is quantized symmetrically to [-127, 127] with its own scale.
     */
    public static CsrMatrix fromDense(float[] w, int n, int k, ValueType type) {
        Panels.checkDense(w, n, k);
        int nnz = 0;
        for (float v : w) {
            if (v != 0f) {
                nnz++;
            }
        }
        // Exact sizes: Panels.allocate rounds 0 bytes up to 1, which the constructor would reject.
        MemorySegment rp = Panels.allocate(((long) n + 1) * 4);
        MemorySegment ci = Panels.allocate((long) nnz * 4).asSlice(0, (long) nnz * 4);
        MemorySegment vals = Panels.allocate((long) nnz * type.bytes).asSlice(0, (long) nnz * type.bytes);
        MemorySegment rs = type == ValueType.INT8 ? Panels.allocate((long) n * 4).asSlice(0, (long) n * 4) : null;
        int p = 0;
        for (int r = 0; r < n; r++) {
            rp.setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, r, p);
            float scale = 1f;
            if (rs != null) {
                float max = 0f;
                for (int c = 0; c < k; c++) {
                    max = Math.max(max, Math.abs(w[r * k + c]));
                }
                scale = max == 0f ? 1f : max / 127f;
                rs.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, r, max == 0f ? 0f : scale);
            }
            for (int c = 0; c < k; c++) {
                float v = w[r * k + c];
                if (v == 0f) {
                    continue;
                }
                ci.setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, p, c);
                switch (type) {
                    case FP32 -> vals.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, p, v);
                    case FP16 -> vals.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, p, Float.floatToFloat16(v));
                    case INT8 -> vals.set(ValueLayout.JAVA_BYTE, p, (byte) Math.max(-127, Math.min(127, Math.round(v / scale))));
                }
                p++;
            }
        }
        rp.setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, n, p);
        return new CsrMatrix(n, k, type, rp, ci, vals, rs);
    }

    @Override
    public String format() {
        return "csr-" + valueType.name().toLowerCase(java.util.Locale.ROOT);
    }

    @Override
    public List<Part> parts() {
        List<Part> ps = new ArrayList<>();
        ps.add(new Part("row_ptr", "I32", new long[] {outFeatures + 1L}, rowPtr));
        ps.add(new Part("col_idx", "I32", new long[] {nnz()}, colIdx));
        ps.add(new Part("values", valueType.dtype, new long[] {nnz()}, values));
        if (rowScales != null) {
            ps.add(new Part("row_scales", "F32", new long[] {outFeatures}, rowScales));
        }
        return List.copyOf(ps);
    }

    @Override
    public float[] toDense() {
        float[] w = new float[outFeatures * inFeatures];
        for (int r = 0; r < outFeatures; r++) {
            for (int i = rowStart(r), e = rowStart(r + 1); i < e; i++) {
                w[r * inFeatures + col(i)] = value(r, i);
            }
        }
        return w;
    }
}
