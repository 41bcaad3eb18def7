package dev.compresso.quant;

/**
 * SmoothQuant (Xiao et al., 2023): migrate activation outliers into the weights with per-input-channel factors
 * {@code s_j = max|X_j|^α / max|W_{·j}|^(1−α)}; {@code X' = X / s}, {@code W' = W · s} leave {@code X·Wᵀ} unchanged
 * while flattening the activation channels that make per-tensor int8 activations lossy. The division of
 * {@code X} is folded into the LayerNorm that produces it (gamma and beta divided by {@code s}).
 */
public final class SmoothQuant {
    /** Factors are kept in this range so that a dead channel cannot blow a weight up or down to nothing. */
    static final float MIN_FACTOR = 1e-5f, MAX_FACTOR = 1e5f;

    private SmoothQuant() {}

    /**
     * Per-column maxima {@code max_n |W[n][j]|} of a row-major {@code W[n][k]}.
     *
     * @throws IllegalArgumentException on a shape mismatch
     */
    public static float[] weightColumnMax(float[] w, int n, int k) {
        Int8Weights.checkShape("weights", w, n, k);
        float[] m = new float[k];
        for (int r = 0; r < n; r++) {
            for (int c = 0; c < k; c++) {
                m[c] = Math.max(m[c], Math.abs(w[r * k + c]));
            }
        }
        return m;
    }

    /**
     * The smoothing factors. Channels with no activation or no weight magnitude get factor 1 (nothing to migrate).
     *
     * @param layer          name for error messages
     * @param activationMax  {@code max|X_j|} per input channel (from calibration)
     * @param weightMax      {@code max|W_{·j}|} per input channel (over every linear layer sharing this input)
     * @param alpha          migration strength in [0, 1] (0.5 is the paper's default for BERT-sized models)
     * @return factors {@code s_j}, finite and positive
     * @throws IllegalArgumentException   if alpha is outside [0, 1] or the lengths differ
     * @throws QuantizationException      if a maximum is NaN or infinite
     */
    public static float[] factors(String layer, float[] activationMax, float[] weightMax, double alpha) {
        if (!(alpha >= 0 && alpha <= 1)) {
            throw new IllegalArgumentException("SmoothQuant alpha must be in [0, 1], got " + alpha);
        }
        if (activationMax.length != weightMax.length) {
            throw new IllegalArgumentException("layer '" + layer + "': " + activationMax.length
                    + " activation channels but " + weightMax.length + " weight columns");
        }
        Checks.finite(layer + " (activation maxima)", activationMax, 0);
        Checks.finite(layer + " (weight column maxima)", weightMax, 0);
        float[] s = new float[activationMax.length];
        for (int j = 0; j < s.length; j++) {
            double a = activationMax[j], w = weightMax[j];
            if (a == 0 || w == 0) {
                s[j] = 1f;
                continue;
            }
            double f = Math.pow(a, alpha) / Math.pow(w, 1 - alpha);
            s[j] = (float) Math.min(MAX_FACTOR, Math.max(MIN_FACTOR, f));
        }
        return s;
    }

    /**
     * Folds {@code 1/s} into a LayerNorm: {@code gamma_j /= s_j}, {@code beta_j /= s_j} (in place).
     *
     * @throws IllegalArgumentException if the lengths differ
     */
    public static void foldIntoLayerNorm(float[] gamma, float[] beta, float[] s) {
        if (gamma.length != s.length || (beta != null && beta.length != s.length)) {
            throw new IllegalArgumentException("LayerNorm has " + gamma.length + " channels, factors " + s.length);
        }
        for (int j = 0; j < s.length; j++) {
            gamma[j] /= s[j];
            if (beta != null) {
                beta[j] /= s[j];
            }
        }
    }

    /**
     * Multiplies column {@code j} of a row-major {@code W[n][k]} by {@code s_j} (in place).
     *
     * @throws IllegalArgumentException on a shape mismatch
     */
    public static void scaleWeightColumns(float[] w, int n, int k, float[] s) {
        Int8Weights.checkShape("weights", w, n, k);
        if (s.length != k) {
            throw new IllegalArgumentException("weights have " + k + " columns, factors " + s.length);
        }
        for (int r = 0; r < n; r++) {
            for (int c = 0; c < k; c++) {
                w[r * k + c] *= s[c];
            }
        }
    }
}
