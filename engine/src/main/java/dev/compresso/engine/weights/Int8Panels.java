package dev.compresso.engine.weights;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * int8 weights, symmetric, one fp32 scale per output channel: {@code W[n][k] ≈ q[n][k] · scale[n]}.
 *
 * <p>{@code data}: signed bytes in the {@linkplain Panels panel layout}, {@code panelCount(N) · 16 · K}
 * bytes. {@code scales}: {@code N} little-endian fp32. A per-tensor quantization simply repeats one scale.
 * Quantized values use the full range [-128, 127]; the W8A8 kernel's activations stay in [-127, 127] so that
 * two products always fit in a signed 16-bit sum.
 *
 * @param outFeatures N
 * @param inFeatures  K
 * @param data        quantized weights
 * @param scales      per-output-channel scales
 */
public record Int8Panels(int outFeatures, int inFeatures, MemorySegment data, MemorySegment scales)
        implements PackedWeights {

    public Int8Panels {
        Panels.checkShape(outFeatures, inFeatures);
        Panels.checkSize("int8 panels", data, Panels.elementCount(outFeatures, inFeatures));
        Panels.checkSize("int8 scales", scales, (long) outFeatures * 4);
    }

    /**
     * Packs already-quantized row-major {@code q[n][k]} with their per-channel scales.
     *
     * @throws IllegalArgumentException on wrong lengths or a scale that is negative, NaN or infinite
     */
    public static Int8Panels pack(byte[] q, float[] scale, int n, int k) {
        Panels.checkShape(n, k);
        if ((long) n * k != q.length || scale.length != n) {
            throw new IllegalArgumentException("int8 weights: " + q.length + " values and " + scale.length
                    + " scales do not fit shape [" + n + ", " + k + "]");
        }
        MemorySegment d = Panels.allocate(Panels.elementCount(n, k));
        MemorySegment s = Panels.allocate((long) n * 4);
        for (int r = 0; r < n; r++) {
            float sc = scale[r];
            if (!(sc >= 0) || Float.isInfinite(sc)) {
                throw new IllegalArgumentException("int8 weights: channel " + r + " has invalid scale " + sc);
            }
            s.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, r, sc);
            for (int c = 0; c < k; c++) {
                d.set(ValueLayout.JAVA_BYTE, Panels.index(r, c, k), q[r * k + c]);
            }
        }
        return new Int8Panels(n, k, d, s);
    }

    /** Quantized {@code q[n][k]}. */
    public byte q(int n, int k) {
        return data.get(ValueLayout.JAVA_BYTE, Panels.index(n, k, inFeatures));
    }

    /** Scale of output channel {@code n}. */
    public float scale(int n) {
        return scales.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, n);
    }

    @Override
    public String format() {
        return "int8-panels";
    }

    @Override
    public List<Part> parts() {
        return List.of(
                new Part("data", "I8", new long[] {Panels.elementCount(outFeatures, inFeatures)}, data),
                new Part("scales", "F32", new long[] {outFeatures}, scales));
    }

    @Override
    public float[] toDense() {
        float[] w = new float[outFeatures * inFeatures];
        for (int r = 0; r < outFeatures; r++) {
            float sc = scale(r);
            for (int c = 0; c < inFeatures; c++) {
                w[r * inFeatures + c] = q(r, c) * sc;
            }
        }
        return w;
    }
}
