package dev.compresso.engine.runtime;

/**
 * Float exp and GELU fast enough for per-element use in attention and FFN epilogues. {@link Math#exp} costs
 * about 15 ns per call here, which made softmax and the exact-GELU epilogue the largest costs of a MiniLM
 * forward pass; these cost a few ns with errors far below the 1e-4 model tolerance.
 */
final class FastMath {
    private FastMath() {}

    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;

    /** e^x with relative error below 2e-7 for x in [-87, 88]; 0 below, +inf above. */
    static float exp(float x) {
        if (x < -87.3f) {
            return 0f;
        }
        if (x > 88.7f) {
            return Float.POSITIVE_INFINITY;
        }
        float k = (float) Math.rint(x * LOG2E);
        float r = x - k * LN2_HI - k * LN2_LO;
        // Minimax-style Taylor polynomial on |r| <= ln2/2 (Cephes expf coefficients).
        float p = 1.9875691500e-4f;
        p = p * r + 1.3981999507e-3f;
        p = p * r + 8.3334519073e-3f;
        p = p * r + 4.1665795894e-2f;
        p = p * r + 1.6666665459e-1f;
        p = p * r + 5.0000001201e-1f;
        p = p * r * r + r + 1f;
        return p * Float.intBitsToFloat(((int) k + 127) << 23);
    }

    /**
     * erf(x) with absolute error about 1.2e-7 (the Chebyshev erfc fit of Numerical Recipes, the same formula as
     * the kernels' double reference), evaluated in float with the fast exp.
     */
    static float erf(float x) {
        float z = Math.abs(x);
        float t = 1f / (1f + 0.5f * z);
        float p = 0.17087277f;
        p = p * t - 0.82215223f;
        p = p * t + 1.48851587f;
        p = p * t - 1.13520398f;
        p = p * t + 0.27886807f;
        p = p * t - 0.18628806f;
        p = p * t + 0.09678418f;
        p = p * t + 0.37409196f;
        p = p * t + 1.00002368f;
        float r = t * exp(-z * z - 1.26551223f + t * p);
        return Math.copySign(1f - r, x);
    }

    /** Exact (erf) GELU: {@code 0.5 x (1 + erf(x / √2))}. */
    static float gelu(float x) {
        return 0.5f * x * (1f + erf(x * 0.70710677f));
    }
}
