package dev.compresso.engine.runtime.ops;

import dev.compresso.engine.DType;
import dev.compresso.engine.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Typed element access for the generic (non-hot) paths. */
public final class Vals {
    public static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    public static final ValueLayout.OfLong L = ValueLayout.JAVA_LONG_UNALIGNED;
    public static final ValueLayout.OfInt I = ValueLayout.JAVA_INT_UNALIGNED;
    public static final ValueLayout.OfShort S = ValueLayout.JAVA_SHORT_UNALIGNED;
    public static final ValueLayout.OfByte B = ValueLayout.JAVA_BYTE;

    private Vals() {}

    static double get(DType t, MemorySegment s, long i) {
        return switch (t) {
            case FLOAT -> s.getAtIndex(F, i);
            case FLOAT16 -> Float.float16ToFloat(s.getAtIndex(S, i));
            case INT64 -> s.getAtIndex(L, i);
            case INT32 -> s.getAtIndex(I, i);
            case INT8 -> s.get(B, i);
            case UINT8, BOOL -> s.get(B, i) & 0xFF;
        };
    }

    static long getLong(DType t, MemorySegment s, long i) {
        return switch (t) {
            case INT64 -> s.getAtIndex(L, i);
            case INT32 -> s.getAtIndex(I, i);
            case INT8 -> s.get(B, i);
            case UINT8, BOOL -> s.get(B, i) & 0xFF;
            default -> (long) get(t, s, i);
        };
    }

    static void set(DType t, MemorySegment s, long i, double v) {
        switch (t) {
            case FLOAT -> s.setAtIndex(F, i, (float) v);
            case FLOAT16 -> s.setAtIndex(S, i, Float.floatToFloat16((float) v));
            case INT64 -> s.setAtIndex(L, i, (long) v);
            case INT32 -> s.setAtIndex(I, i, (int) (long) v);
            case INT8, UINT8 -> s.set(B, i, (byte) (long) v);
            case BOOL -> s.set(B, i, (byte) (v != 0 ? 1 : 0));
        }
    }

    static void setLong(DType t, MemorySegment s, long i, long v) {
        switch (t) {
            case INT64 -> s.setAtIndex(L, i, v);
            case INT32 -> s.setAtIndex(I, i, (int) v);
            case INT8, UINT8 -> s.set(B, i, (byte) v);
            case BOOL -> s.set(B, i, (byte) (v != 0 ? 1 : 0));
            default -> set(t, s, i, v);
        }
    }

    static long[] longs(Tensor t) {
        long n = t.size();
        long[] out = new long[Math.toIntExact(n)];
        for (int i = 0; i < out.length; i++) {
            out[i] = getLong(t.dtype(), t.data(), i);
        }
        return out;
    }

    static boolean isInt(DType t) {
        return t != DType.FLOAT && t != DType.FLOAT16;
    }
}
