package dev.compresso.engine.format;

import dev.compresso.engine.ModelException;
import dev.compresso.engine.weights.Bsr16Matrix;
import dev.compresso.engine.weights.BsrMatrix;
import dev.compresso.engine.weights.CsrMatrix;
import dev.compresso.engine.weights.Fp16Panels;
import dev.compresso.engine.weights.Fp32Panels;
import dev.compresso.engine.weights.Int8Panels;
import dev.compresso.engine.weights.Nm24Matrix;
import dev.compresso.engine.weights.PackedWeights;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * Stores {@link PackedWeights} as their {@linkplain PackedWeights#parts() parts}, byte for byte, under
 * {@code <prefix>.<part>} names, and rebuilds them from (mapped) segments without converting anything.
 */
final class PackedCodec {
    private PackedCodec() {}

    /** The entries for {@code w}, named {@code prefix + "." + part}. */
    static List<TensorFile.Entry> entries(String prefix, PackedWeights w) {
        List<TensorFile.Entry> out = new ArrayList<>();
        for (PackedWeights.Part p : w.parts()) {
            out.add(new TensorFile.Entry(prefix + "." + p.name(), p.dtype(), p.shape(), p.data()));
        }
        return out;
    }

    /** The values of a sparse format with a value-type suffix ({@code -fp32}, {@code -fp16}, {@code -int8}), and int8 row scales. */
    private record SparseValues(CsrMatrix.ValueType type, MemorySegment values, MemorySegment rowScales) {}

    private static SparseValues sparseValues(TensorFile f, String prefix, String format) throws ModelException {
        CsrMatrix.ValueType vt = switch (format.substring(format.lastIndexOf('-') + 1)) {
            case "fp32" -> CsrMatrix.ValueType.FP32;
            case "fp16" -> CsrMatrix.ValueType.FP16;
            default -> CsrMatrix.ValueType.INT8;
        };
        String dtype = switch (vt) {
            case FP32 -> "F32";
            case FP16 -> "F16";
            case INT8 -> "I8";
        };
        MemorySegment scales = vt == CsrMatrix.ValueType.INT8
                ? checkScales(f, prefix, "row_scales", part(f, prefix, "row_scales", "F32")) : null;
        return new SparseValues(vt, part(f, prefix, "values", dtype), scales);
    }

    /**
     * Rebuilds packed weights of {@code format} and shape {@code [n, k]} from the file's tensors.
     *
     * @throws ModelException naming the file and tensor on an unknown format, a missing part, a wrong dtype,
     *                        or sizes/structure the packed type rejects
     */
    static PackedWeights read(TensorFile f, String prefix, String format, int n, int k) throws ModelException {
        try {
            return switch (format) {
                case "fp32-panels" -> new Fp32Panels(n, k, part(f, prefix, "data", "F32"));
                case "fp16-panels" -> new Fp16Panels(n, k, part(f, prefix, "data", "F16"));
                case "int8-panels" -> new Int8Panels(n, k, part(f, prefix, "data", "I8"), checkScales(f, prefix, "scales", part(f, prefix, "scales", "F32")));
                case "csr-fp32", "csr-fp16", "csr-int8" -> {
                    SparseValues v = sparseValues(f, prefix, format);
                    yield new CsrMatrix(n, k, v.type(), part(f, prefix, "row_ptr", "I32"), part(f, prefix, "col_idx", "I32"),
                            v.values(), v.rowScales());
                }
                case "nm24-fp32", "nm24-fp16", "nm24-int8" -> {
                    SparseValues v = sparseValues(f, prefix, format);
                    yield new Nm24Matrix(n, k, v.type(), v.values(), part(f, prefix, "indices", "U32"), v.rowScales());
                }
                case "bsr16x1-fp32", "bsr16x1-fp16", "bsr16x1-int8" -> {
                    SparseValues v = sparseValues(f, prefix, format);
                    yield new Bsr16Matrix(n, k, v.type(), part(f, prefix, "block_ptr", "I32"), part(f, prefix, "block_col", "U16"),
                            v.values(), v.rowScales());
                }
                case "bsr4x1-fp32" -> new BsrMatrix(n, k, part(f, prefix, "block_ptr", "I32"), part(f, prefix, "block_col", "I32"),
                        part(f, prefix, "values", "F32"));
                default -> throw new ModelException(f.path() + ": weights '" + prefix + "' have unknown packed format '"
                        + format + "' (written by a newer Compresso?)");
            };
        } catch (IllegalArgumentException e) {
            throw new ModelException(f.path() + ": weights '" + prefix + "' (" + format + " [" + n + ", " + k + "]): "
                    + e.getMessage(), e);
        }
    }

    private static MemorySegment part(TensorFile f, String prefix, String name, String dtype) throws ModelException {
        TensorFile.Entry e = f.get(prefix + "." + name);
        if (!e.dtype().equals(dtype)) {
            throw new ModelException(f.path() + ": tensor '" + e.name() + "' has dtype " + e.dtype() + ", expected " + dtype);
        }
        return e.data();
    }

    /** Scales must be finite and non-negative: a forged scale would silently poison every output. */
    private static MemorySegment checkScales(TensorFile f, String prefix, String name, MemorySegment s) throws ModelException {
        for (long i = 0; i < s.byteSize() / 4; i++) {
            float v = s.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, i);
            if (!(v >= 0) || Float.isInfinite(v)) {
                throw new ModelException(f.path() + ": tensor '" + prefix + "." + name + "' has invalid scale " + v + " at " + i);
            }
        }
        return s;
    }
}
