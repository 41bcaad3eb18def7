package dev.compresso.quant;

import dev.compresso.engine.weights.Fp16Panels;

/** The fp16 pass over one weight matrix: round to nearest even binary16, refusing values fp16 cannot hold. */
public final class Fp16Weights {
    /** Largest finite binary16 value. */
    public static final float FP16_MAX = 65504f;

    private Fp16Weights() {}

    /**
     * Packs {@code w} as fp16 panels.
     *
     * @param name tensor name for error messages
     * @param w    row-major {@code n·k} weights
     * @param n    rows
     * @param k    columns
     * @return the packed weights
     * @throws QuantizationException    on NaN/infinite weights or a weight that would round to fp16 infinity
     * @throws IllegalArgumentException on a shape mismatch
     */
    public static Fp16Panels pack(String name, float[] w, int n, int k) {
        Int8Weights.checkShape(name, w, n, k);
        Checks.finite(name, w, k);
        for (int i = 0; i < w.length; i++) {
            if (Float.isInfinite(Float.float16ToFloat(Float.floatToFloat16(w[i])))) {
                throw new QuantizationException("tensor '" + name + "' has " + w[i] + " at [" + i / k + ", " + i % k
                        + "], beyond the fp16 range (±" + FP16_MAX + "): keep this layer in fp32");
            }
        }
        return Fp16Panels.pack(w, n, k);
    }
}
