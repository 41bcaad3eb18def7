package dev.compresso.engine;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * A dense, row-major, off-heap tensor: an element type, a shape and a little-endian {@link MemorySegment}.
 * Tensors made by the factories own GC-managed memory; {@link #close()} marks them unusable. A tensor that
 * views a model's memory (a constant of its graph) is unusable once that model is closed: {@link #data()} and
 * the array accessors throw {@link IllegalStateException} then.
 *
 * <p>Threads: a tensor may be read from several threads at once; writing its data while others read it is
 * the caller's business. The outputs of {@link Session#run} are the caller's own, independent of the session.
 */
public final class Tensor implements AutoCloseable {
    private final DType dtype;
    private final long[] shape;
    private final MemorySegment data;
    private volatile boolean closed;

    private Tensor(DType dtype, long[] shape, MemorySegment data) {
        this.dtype = dtype;
        this.shape = shape;
        this.data = data;
    }

    /**
     * Wraps existing little-endian bytes (no copy).
     *
     * @param dtype element type
     * @param shape dimensions, each {@code >= 0}
     * @param data  at least {@code count(shape) · dtype.bytes()} bytes
     * @return the tensor
     * @throws IllegalArgumentException on a negative dimension or a segment too small for the shape
     */
    public static Tensor of(DType dtype, long[] shape, MemorySegment data) {
        long n = count(shape);
        if (data.byteSize() < n * dtype.bytes()) {
            throw new IllegalArgumentException("tensor " + Arrays.toString(shape) + " of " + dtype + " needs "
                    + n * dtype.bytes() + " bytes, segment has " + data.byteSize());
        }
        return new Tensor(dtype, shape.clone(), data.asSlice(0, n * dtype.bytes()));
    }

    /**
     * A new zero-filled tensor.
     *
     * @param dtype element type
     * @param shape dimensions
     * @return the tensor
     * @throws IllegalArgumentException on a negative dimension or an element count that overflows
     */
    public static Tensor allocate(DType dtype, long[] shape) {
        long n = count(shape);
        if (n > Long.MAX_VALUE / 8) {
            throw new IllegalArgumentException("tensor " + Arrays.toString(shape) + " is too large");
        }
        return new Tensor(dtype, shape.clone(), Arena.ofAuto().allocate(Math.max(1, n * dtype.bytes()), 64)
                .asSlice(0, n * dtype.bytes()));
    }

    /**
     * A float tensor holding a copy of {@code data}.
     *
     * @param shape dimensions
     * @param data  {@code count(shape)} values, row-major
     * @return the tensor
     * @throws IllegalArgumentException when the lengths disagree
     */
    public static Tensor ofFloats(long[] shape, float[] data) {
        checkLength(shape, data.length);
        Tensor t = allocate(DType.FLOAT, shape);
        MemorySegment.copy(data, 0, t.data, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, data.length);
        return t;
    }

    /**
     * An int64 tensor holding a copy of {@code data}.
     *
     * @param shape dimensions
     * @param data  {@code count(shape)} values, row-major
     * @return the tensor
     * @throws IllegalArgumentException when the lengths disagree
     */
    public static Tensor ofLongs(long[] shape, long[] data) {
        checkLength(shape, data.length);
        Tensor t = allocate(DType.INT64, shape);
        MemorySegment.copy(data, 0, t.data, ValueLayout.JAVA_LONG_UNALIGNED, 0, data.length);
        return t;
    }

    /**
     * An int32 tensor holding a copy of {@code data}.
     *
     * @param shape dimensions
     * @param data  {@code count(shape)} values, row-major
     * @return the tensor
     * @throws IllegalArgumentException when the lengths disagree
     */
    public static Tensor ofInts(long[] shape, int[] data) {
        checkLength(shape, data.length);
        Tensor t = allocate(DType.INT32, shape);
        MemorySegment.copy(data, 0, t.data, ValueLayout.JAVA_INT_UNALIGNED, 0, data.length);
        return t;
    }

    private static void checkLength(long[] shape, int length) {
        long n = count(shape);
        if (n != length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " holds " + n
                    + " elements, data has " + length);
        }
    }

    /**
     * Number of elements of a shape.
     *
     * @param shape dimensions
     * @return their product (1 for a scalar)
     * @throws IllegalArgumentException on a negative dimension or overflow
     */
    public static long count(long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /**
     * The dimensions (a copy).
     *
     * @return the shape
     * @throws IllegalStateException after {@link #close()}
     */
    public long[] shape() {
        check();
        return shape.clone();
    }

    /**
     * Rank (number of dimensions).
     *
     * @return the rank
     */
    public int rank() {
        return shape.length;
    }

    /**
     * Dimension {@code i}.
     *
     * @param i index
     * @return the size
     */
    public long dim(int i) {
        return shape[i];
    }

    /** Number of elements. */
    public long size() {
        return count(shape);
    }

    /**
     * The element type.
     *
     * @return the type
     */
    public DType dtype() {
        return dtype;
    }

    /**
     * The raw little-endian bytes (no copy).
     *
     * @return the segment
     * @throws IllegalStateException after {@link #close()}
     */
    public MemorySegment data() {
        check();
        return data;
    }

    /**
     * The elements converted to float (int types widen, booleans become 0/1).
     *
     * @return a new array
     * @throws IllegalStateException after {@link #close()}, or when the tensor has more than 2³¹−1 elements
     */
    public float[] toFloatArray() {
        check();
        int n = Math.toIntExact(size());
        float[] out = new float[n];
        if (dtype == DType.FLOAT) {
            MemorySegment.copy(data, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, out, 0, n);
        } else {
            for (int i = 0; i < n; i++) {
                out[i] = (float) getDouble(i);
            }
        }
        return out;
    }

    /**
     * The elements converted to long (floats truncate toward zero).
     *
     * @return a new array
     * @throws IllegalStateException after {@link #close()}, or when the tensor has more than 2³¹−1 elements
     */
    public long[] toLongArray() {
        check();
        int n = Math.toIntExact(size());
        long[] out = new long[n];
        if (dtype == DType.INT64) {
            MemorySegment.copy(data, ValueLayout.JAVA_LONG_UNALIGNED, 0, out, 0, n);
        } else {
            for (int i = 0; i < n; i++) {
                out[i] = getLong(i);
            }
        }
        return out;
    }

    /** Element {@code i} as a double, whatever the type. */
    double getDouble(long i) {
        return switch (dtype) {
            case FLOAT -> data.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i);
            case FLOAT16 -> Float.float16ToFloat(data.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i));
            case INT64 -> data.getAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, i);
            case INT32 -> data.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, i);
            case INT8 -> data.get(ValueLayout.JAVA_BYTE, i);
            case UINT8, BOOL -> data.get(ValueLayout.JAVA_BYTE, i) & 0xFF;
        };
    }

    /** Element {@code i} as a long, whatever the type. */
    long getLong(long i) {
        return switch (dtype) {
            case INT64 -> data.getAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, i);
            case INT32 -> data.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, i);
            case INT8 -> data.get(ValueLayout.JAVA_BYTE, i);
            case UINT8, BOOL -> data.get(ValueLayout.JAVA_BYTE, i) & 0xFF;
            default -> (long) getDouble(i);
        };
    }

    private void check() {
        if (closed) {
            throw new IllegalStateException("tensor is closed");
        }
        if (!data.scope().isAlive()) {
            throw new IllegalStateException("the memory of this " + this + " was released: the model or session it"
                    + " belongs to is closed");
        }
    }

    /** Marks this tensor unusable; its memory is freed by the garbage collector. */
    @Override
    public void close() {
        closed = true;
    }

    @Override
    public String toString() {
        return "Tensor[" + dtype + " " + Arrays.toString(shape) + "]";
    }
}
