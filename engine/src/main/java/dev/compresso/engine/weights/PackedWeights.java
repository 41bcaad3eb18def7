package dev.compresso.engine.weights;

import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * Weights of a linear layer {@code y = x · Wᵀ}, with {@code W} of shape {@code [outFeatures, inFeatures]},
 * in the exact byte layout a kernel consumes.
 *
 * <p>Compression passes produce these types, kernels consume them, and the model file stores their
 * {@linkplain #parts() parts} byte for byte, so loading a model is a memory map, not a conversion.
 * Every implementation documents its layout and validates segment sizes in its constructor.
 */
public sealed interface PackedWeights permits Fp32Panels, Fp16Panels, Int8Panels, CsrMatrix, BsrMatrix,
        Bsr16Matrix, Nm24Matrix {

    /** Output features {@code N} (rows of {@code W}). */
    int outFeatures();

    /** Input features {@code K} (columns of {@code W}). */
    int inFeatures();

    /** A short stable name of the format, as stored in the model file, e.g. {@code "fp32-panels"}. */
    String format();

    /** The named byte segments that make up these weights, in a stable order (for saving). */
    List<Part> parts();

    /** Total bytes of all parts. */
    default long byteSize() {
        long s = 0;
        for (Part p : parts()) {
            s += p.data().byteSize();
        }
        return s;
    }

    /** The dense fp32 matrix {@code W[outFeatures][inFeatures]} these weights stand for (dequantized). */
    float[] toDense();

    /**
     * One stored segment.
     *
     * @param name  part name within the weights, e.g. {@code "data"} or {@code "scales"}
     * @param dtype element type as a safetensors dtype string ({@code F32}, {@code F16}, {@code I8}, {@code I32})
     * @param shape element shape of the segment
     * @param data  the bytes, little-endian
     */
    record Part(String name, String dtype, long[] shape, MemorySegment data) {}
}
