package dev.compresso.engine.weights;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The dense panel layout shared by {@link Fp32Panels}, {@link Fp16Panels} and {@link Int8Panels}.
 *
 * <p>Output channels are grouped in panels of {@link #NR} = 16. Inside a panel the layout is k-major: the 16
 * weights of channels {@code p·16 … p·16+15} at input feature {@code k} are contiguous. Element
 * {@code W[n][k]} lives at element index {@code ((n / 16) · K + k) · 16 + n % 16}. The last panel is padded
 * with zero weights. The width is fixed (not chosen per CPU) so one model file runs unchanged on AVX2,
 * AVX-512 and NEON: 16 lanes are two AVX2 vectors, four NEON vectors or one AVX-512 vector of fp32.
 */
public final class Panels {
    /** Output channels per panel. */
    public static final int NR = 16;
    /** Alignment in bytes of every segment the engine allocates. */
    public static final long ALIGN = 64;

    private Panels() {}

    /** Number of panels for {@code n} output channels. */
    public static int panelCount(int n) {
        return (n + NR - 1) / NR;
    }

    /** Element index of {@code W[n][k]} in a panel layout with {@code kDim} input features. */
    public static long index(int n, int k, int kDim) {
        return ((long) (n / NR) * kDim + k) * NR + (n % NR);
    }

    /** Number of elements (including padding) of a panel layout. */
    public static long elementCount(int n, int k) {
        return (long) panelCount(n) * NR * k;
    }

    /**
     * A zeroed, 64-byte-aligned segment of exactly {@code bytes} bytes (0 allowed) managed by the garbage
     * collector.
     */
    public static MemorySegment allocate(long bytes) {
        // At least one byte is allocated (a zero-size allocation may be unaligned), but the segment is sliced
        // to the exact size so packed types with an empty dimension pass their size checks.
        return Arena.ofAuto().allocate(Math.max(bytes, 1), ALIGN).asSlice(0, bytes);
    }

    static void checkShape(int n, int k) {
        if (n < 0 || k < 0) {
            throw new IllegalArgumentException("negative weight shape [" + n + ", " + k + "]");
        }
    }

    static void checkDense(float[] w, int n, int k) {
        checkShape(n, k);
        if ((long) n * k != w.length) {
            throw new IllegalArgumentException(
                    "dense weights have " + w.length + " elements, shape [" + n + ", " + k + "] needs " + (long) n * k);
        }
    }

    static void checkSize(String what, MemorySegment s, long bytes) {
        if (s.byteSize() != bytes) {
            throw new IllegalArgumentException(what + " has " + s.byteSize() + " bytes, expected " + bytes);
        }
    }
}
