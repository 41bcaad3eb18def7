package dev.compresso.engine;

/** Element types of {@link Tensor}s, with their ONNX {@code TensorProto.DataType} codes. */
public enum DType {
    /** 32-bit IEEE float. */
    FLOAT(1, 4),
    /** Unsigned byte. */
    UINT8(2, 1),
    /** Signed byte. */
    INT8(3, 1),
    /** Signed 32-bit integer. */
    INT32(6, 4),
    /** Signed 64-bit integer. */
    INT64(7, 8),
    /** Boolean, one byte per element (0 or 1). */
    BOOL(9, 1),
    /** 16-bit IEEE float. */
    FLOAT16(10, 2);

    private final int onnxCode;
    private final int bytes;

    DType(int onnxCode, int bytes) {
        this.onnxCode = onnxCode;
        this.bytes = bytes;
    }

    /** Bytes per element. */
    public int bytes() {
        return bytes;
    }

    /** The ONNX {@code TensorProto.DataType} code. */
    public int onnxCode() {
        return onnxCode;
    }

    /**
     * The type of an ONNX data type code.
     *
     * @param code ONNX {@code TensorProto.DataType}
     * @return the type, or {@code null} when the engine does not support it
     */
    public static DType fromOnnx(int code) {
        for (DType t : values()) {
            if (t.onnxCode == code) {
                return t;
            }
        }
        return null;
    }
}
