package dev.compresso.engine.onnx;

import dev.compresso.engine.ModelException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/**
 * A bounds-checked reader of the protobuf wire format over a region of a {@link MemorySegment}. Every length
 * and varint is checked against the end of the enclosing message, so forged sizes fail with a
 * {@link ModelException} instead of reading out of range or allocating huge arrays.
 */
final class ProtoReader {
    static final int VARINT = 0, I64 = 1, LEN = 2, I32 = 5;

    private final MemorySegment seg;
    private final String file;
    private long pos;
    private final long end;
    private int tag;

    ProtoReader(MemorySegment seg, long start, long end, String file) {
        this.seg = seg;
        this.pos = start;
        this.end = end;
        this.file = file;
    }

    ModelException error(String what) {
        return new ModelException(file + ": malformed ONNX protobuf at byte " + pos + ": " + what);
    }

    /** Advances to the next field; false at the end of the message. */
    boolean next() throws ModelException {
        if (pos >= end) {
            return false;
        }
        long t = varint();
        if (t >>> 32 != 0 || (t >>> 3) == 0) {
            throw error("invalid field tag " + t);
        }
        tag = (int) t;
        int wt = tag & 7;
        if (wt != VARINT && wt != I64 && wt != LEN && wt != I32) {
            throw error("unsupported wire type " + wt + " for field " + (tag >>> 3));
        }
        return true;
    }

    int field() {
        return tag >>> 3;
    }

    int wireType() {
        return tag & 7;
    }

    long varint() throws ModelException {
        long result = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (pos >= end) {
                throw error("truncated varint");
            }
            byte b = seg.get(ValueLayout.JAVA_BYTE, pos++);
            result |= (long) (b & 0x7F) << shift;
            if (b >= 0) {
                return result;
            }
        }
        throw error("varint longer than 10 bytes");
    }

    int fixed32() throws ModelException {
        need(4);
        int v = seg.get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN), pos);
        pos += 4;
        return v;
    }

    long fixed64() throws ModelException {
        need(8);
        long v = seg.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN), pos);
        pos += 8;
        return v;
    }

    private void need(long n) throws ModelException {
        if (n < 0 || n > end - pos) {
            throw error("field of " + n + " bytes runs past the end of its message (" + (end - pos) + " left)");
        }
    }

    /** Reads a length prefix and returns {@code [start, end)} of the payload, positioned after it. */
    long[] lengthDelimited() throws ModelException {
        long len = varint();
        need(len);
        long s = pos;
        pos += len;
        return new long[] {s, pos};
    }

    ProtoReader message() throws ModelException {
        long[] r = lengthDelimited();
        return new ProtoReader(seg, r[0], r[1], file);
    }

    String string() throws ModelException {
        long[] r = lengthDelimited();
        if (r[1] - r[0] > Integer.MAX_VALUE - 8) {
            throw error("string too long");
        }
        byte[] b = seg.asSlice(r[0], r[1] - r[0]).toArray(ValueLayout.JAVA_BYTE);
        return new String(b, StandardCharsets.UTF_8);
    }

    MemorySegment bytes() throws ModelException {
        long[] r = lengthDelimited();
        return seg.asSlice(r[0], r[1] - r[0]);
    }

    float float32() throws ModelException {
        if (wireType() != I32) {
            throw error("field " + field() + " should be a float");
        }
        return Float.intBitsToFloat(fixed32());
    }

    /** Skips the current field's value. */
    void skip() throws ModelException {
        switch (wireType()) {
            case VARINT -> varint();
            case I64 -> {
                need(8);
                pos += 8;
            }
            case I32 -> {
                need(4);
                pos += 4;
            }
            case LEN -> lengthDelimited();
            default -> throw error("cannot skip wire type " + wireType());
        }
    }

    /** Appends a repeated varint field (packed or not) to {@code out}. */
    void varints(LongList out) throws ModelException {
        if (wireType() == LEN) {
            long[] r = lengthDelimited();
            ProtoReader p = new ProtoReader(seg, r[0], r[1], file);
            while (p.pos < p.end) {
                out.add(p.varint());
            }
        } else if (wireType() == VARINT) {
            out.add(varint());
        } else {
            throw error("field " + field() + " should be varints");
        }
    }

    /** Appends a repeated float field (packed or not) to {@code out}. */
    void floats(FloatList out) throws ModelException {
        if (wireType() == LEN) {
            long[] r = lengthDelimited();
            if ((r[1] - r[0]) % 4 != 0) {
                throw error("packed floats of " + (r[1] - r[0]) + " bytes");
            }
            for (long p = r[0]; p < r[1]; p += 4) {
                out.add(seg.get(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN), p));
            }
        } else {
            out.add(float32());
        }
    }

    /** Appends a repeated double field (packed or not) to {@code out}. */
    void doubles(FloatList out) throws ModelException {
        if (wireType() == LEN) {
            long[] r = lengthDelimited();
            if ((r[1] - r[0]) % 8 != 0) {
                throw error("packed doubles of " + (r[1] - r[0]) + " bytes");
            }
            for (long p = r[0]; p < r[1]; p += 8) {
                out.add((float) seg.get(ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN), p));
            }
        } else if (wireType() == I64) {
            out.add((float) Double.longBitsToDouble(fixed64()));
        } else {
            throw error("field " + field() + " should be doubles");
        }
    }

    /** A growable long array. */
    static final class LongList {
        long[] a = new long[8];
        int n;

        void add(long v) {
            if (n == a.length) {
                a = java.util.Arrays.copyOf(a, n * 2);
            }
            a[n++] = v;
        }

        long[] toArray() {
            return java.util.Arrays.copyOf(a, n);
        }
    }

    /** A growable float array. */
    static final class FloatList {
        float[] a = new float[8];
        int n;

        void add(float v) {
            if (n == a.length) {
                a = java.util.Arrays.copyOf(a, n * 2);
            }
            a[n++] = v;
        }

        float[] toArray() {
            return java.util.Arrays.copyOf(a, n);
        }
    }
}
