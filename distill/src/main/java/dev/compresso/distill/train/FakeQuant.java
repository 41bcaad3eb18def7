package dev.compresso.distill.train;

import dev.compresso.engine.kernel.Backward;

/**
 * Fake quantization for quantization-aware training: the forward pass sees the values the engine's static
 * int8 W8A8 kernels will see, the backward pass lets gradients through (straight-through estimator).
 *
 * <p>Weights: symmetric int8 per output row, {@code scale = max|w_r| / 127}, {@code q = round(w / scale)} in
 * [-127, 127], exactly as the {@code quant} module packs them (the divide in double); a row whose scale is not
 * a normal float is zero. The gradient of the quantized weight is applied to the fp32 weight unchanged.
 *
 * <p>Activations: one static scale {@code s} per layer input, {@code q = clamp(round(x · (1/s)), -127, 127)},
 * exactly as the engine's {@code quantizeRowsStatic}. The gradient passes where {@code x} was not clipped and
 * is zero where it was; the scale itself is learned (LSQ, Esser et al. 2020): {@code ∂x̂/∂s = q − x/s} inside
 * the range and {@code ±127} outside.
 */
public final class FakeQuant {
    /** The largest int8 code used (symmetric, -127..127). */
    public static final int QMAX = 127;
    /** The smallest activation scale training may reach (the optimiser could otherwise push it through zero). */
    static final float MIN_SCALE = 1e-6f;

    private FakeQuant() {}

    /** The per-row weight scale the {@code quant} module uses: {@code max|w| / 127}, or 0 below the normal range. */
    public static float weightScale(float[] w, int from, int to) {
        float m = 0f;
        for (int i = from; i < to; i++) {
            m = Math.max(m, Math.abs(w[i]));
        }
        float s = m / QMAX;
        return s < Float.MIN_NORMAL ? 0f : s;
    }

    /** {@code dst = dequantize(quantize(w))} row by row ({@code w [rows, cols]}); {@code dst} may not alias {@code w}. */
    public static void weights(float[] w, int rows, int cols, float[] dst, int threads) {
        Backward.run(threads, rows, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int o = r * cols;
                float s = weightScale(w, o, o + cols);
                if (s == 0f) {
                    java.util.Arrays.fill(dst, o, o + cols, 0f);
                    continue;
                }
                double inv = 1.0 / s;
                for (int i = o; i < o + cols; i++) {
                    long q = Math.round(w[i] * inv);
                    dst[i] = Math.max(-QMAX, Math.min(QMAX, q)) * s;
                }
            }
        });
    }

    /**
     * Weights of a layer with input-channel factors {@code f} (SmoothQuant's migration): the int8 codes are those
     * of {@code W·diag(f)} per row, as the {@code quant} module packs them, and {@code dst} gets them back in
     * {@code W}'s units: {@code dst[r][c] = q[r][c] · scale[r] / f[c]}.
     */
    public static void weights(float[] w, int rows, int cols, float[] f, float[] dst, int threads) {
        if (f == null) {
            weights(w, rows, cols, dst, threads);
            return;
        }
        Backward.run(threads, rows, (r0, r1) -> {
            float[] v = new float[cols];
            for (int r = r0; r < r1; r++) {
                int o = r * cols;
                for (int c = 0; c < cols; c++) {
                    v[c] = w[o + c] * f[c];
                }
                float s = weightScale(v, 0, cols);
                if (s == 0f) {
                    java.util.Arrays.fill(dst, o, o + cols, 0f);
                    continue;
                }
                double inv = 1.0 / s;
                for (int c = 0; c < cols; c++) {
                    long q = Math.round(v[c] * inv);
                    dst[o + c] = Math.max(-QMAX, Math.min(QMAX, q)) * s / f[c];
                }
            }
        });
    }

    /**
     * Inputs of a layer with input-channel factors: channel {@code j} (of {@code cols}) is quantized with scale
     * {@code s·f_j} exactly as the engine does ({@code q = clamp(round(x · inv_j), ±127)} with {@code inv} from
     * {@code Kernels.channelInverse(s, f)}), {@code dst = q · s · f_j}.
     */
    public static void activations(float[] x, int n, int cols, float s, float[] f, float[] inv, float[] dst) {
        for (int o = 0; o < n; o += cols) {
            for (int j = 0; j < cols; j++) {
                int q = Math.max(-QMAX, Math.min(QMAX, Math.round(x[o + j] * inv[j])));
                dst[o + j] = q * (s * f[j]);
            }
        }
    }

    /** Backward of {@link #activations(float[], int, int, float, float[], float[], float[])}, as the per-tensor form. */
    public static double activationsBackward(float[] x, int n, int cols, float[] f, float[] inv, float[] dx) {
        double ds = 0;
        for (int o = 0; o < n; o += cols) {
            for (int j = 0; j < cols; j++) {
                int i = o + j;
                float v = x[i] * inv[j];
                int q = Math.round(v);
                if (q > QMAX) {
                    ds += (double) dx[i] * QMAX * f[j];
                    dx[i] = 0f;
                } else if (q < -QMAX) {
                    ds -= (double) dx[i] * QMAX * f[j];
                    dx[i] = 0f;
                } else {
                    ds += (double) dx[i] * (q - v) * f[j];
                }
            }
        }
        return ds;
    }

    /** {@code dst = s · clamp(round(x · (1/s)), ±127)} over {@code n} values. */
    public static void activations(float[] x, int n, float s, float[] dst) {
        float inv = 1f / s;
        for (int i = 0; i < n; i++) {
            int q = Math.max(-QMAX, Math.min(QMAX, Math.round(x[i] * inv)));
            dst[i] = q * s;
        }
    }

    /**
     * The backward pass of {@link #activations}: zeroes {@code dx} where {@code x} was clipped and returns
     * {@code ∂loss/∂s} (LSQ), {@code dx} holding the gradient with respect to the quantized values on entry.
     */
    public static double activationsBackward(float[] x, int n, float s, float[] dx) {
        float inv = 1f / s;
        double ds = 0;
        for (int i = 0; i < n; i++) {
            float v = x[i] * inv;
            int q = Math.round(v);
            if (q > QMAX) {
                ds += (double) dx[i] * QMAX;
                dx[i] = 0f;
            } else if (q < -QMAX) {
                ds -= (double) dx[i] * QMAX;
                dx[i] = 0f;
            } else {
                ds += (double) dx[i] * (q - v);
            }
        }
        return ds;
    }
}
