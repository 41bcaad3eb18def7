package dev.compresso.quant;

import dev.compresso.engine.weights.Int8Panels;

/**
 * Symmetric int8 quantization of a row-major weight matrix {@code W[n][k]}: {@code W[r][c] ≈ q[r][c] · scale[r]}
 * with {@code q} in {@code [-127, 127]} (the symmetric range; -128 is never produced, so negation is exact).
 *
 * @param name   tensor name, used in error messages
 * @param n      output channels (rows)
 * @param k      input features (columns)
 * @param q      quantized values, row-major {@code n·k}
 * @param scales one scale per row ({@code n}); per-tensor quantization repeats one value
 */
public record Int8Weights(String name, int n, int k, byte[] q, float[] scales) {

    /** Largest quantized magnitude. */
    public static final int QMAX = 127;

    /**
     * Quantizes {@code w}.
     *
     * <p>The scale of a group (row or tensor) is {@code max|w| / 127}, so every weight is representable and the
     * rounding error is at most {@code scale / 2}. An all-zero group gets scale 0 and zero codes (the kernels
     * then produce exact zeros); a group whose maximum is so small that the scale underflows is treated the
     * same way (its error, at most that maximum, is below fp32 resolution of anything it is added to).
     *
     * @param name        tensor name for error messages
     * @param w           row-major weights, {@code n·k} values
     * @param n           rows
     * @param k           columns
     * @param granularity per channel or per tensor
     * @return the codes and scales
     * @throws QuantizationException    if a weight is NaN or infinite (naming the tensor, row and column)
     * @throws IllegalArgumentException if the lengths do not match the shape
     */
    public static Int8Weights quantize(String name, float[] w, int n, int k, Granularity granularity) {
        checkShape(name, w, n, k);
        Checks.finite(name, w, k);
        float[] scales = new float[n];
        if (granularity == Granularity.PER_TENSOR) {
            float s = scaleFor(maxAbs(w, 0, w.length));
            java.util.Arrays.fill(scales, s);
        } else {
            for (int r = 0; r < n; r++) {
                scales[r] = scaleFor(maxAbs(w, r * k, r * k + k));
            }
        }
        byte[] q = new byte[w.length];
        for (int r = 0; r < n; r++) {
            float s = scales[r];
            if (s == 0f) {
                continue; // zero (or underflowed) group: codes stay 0
            }
            // Divide in double: with a float divide w/s can land a hair above 127.5 for the maximum element.
            double inv = 1.0 / s;
            for (int c = 0, i = r * k; c < k; c++, i++) {
                long v = Math.round(w[i] * inv);
                q[i] = (byte) Math.max(-QMAX, Math.min(QMAX, v));
            }
        }
        return new Int8Weights(name, n, k, q, scales);
    }

    /** {@code max|w| / 127}, or 0 when that is 0 or not a normal float (no meaningful grid). */
    static float scaleFor(float maxAbs) {
        float s = maxAbs / QMAX;
        return s < Float.MIN_NORMAL ? 0f : s;
    }

    static float maxAbs(float[] w, int from, int to) {
        float m = 0f;
        for (int i = from; i < to; i++) {
            m = Math.max(m, Math.abs(w[i]));
        }
        return m;
    }

    /** The dequantized matrix {@code q · scale}, row-major. */
    public float[] dequantize() {
        float[] w = new float[n * k];
        for (int r = 0; r < n; r++) {
            for (int c = 0, i = r * k; c < k; c++, i++) {
                w[i] = q[i] * scales[r];
            }
        }
        return w;
    }

    /** Packs into the kernels' int8 panel layout. */
    public Int8Panels pack() {
        return Int8Panels.pack(q, scales, n, k);
    }

    static void checkShape(String name, float[] w, int n, int k) {
        if (n < 0 || k < 0 || (long) n * k != w.length) {
            throw new IllegalArgumentException(
                    "tensor '" + name + "' has " + w.length + " values, shape [" + n + ", " + k + "] needs " + (long) n * k);
        }
    }
}
