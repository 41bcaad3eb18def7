package dev.compresso.distill.train;

import dev.compresso.engine.kernel.Backward;

/**
 * Losses and their gradients. Each returns the loss value (already multiplied by {@code weight}) and adds
 * {@code weight · ∂loss/∂input} into the gradient array it is given, so several losses can share one gradient.
 */
public final class Losses {
    private Losses() {}

    /** Mean over each sequence's rows: {@code pooled [sequences, h]}. */
    public static void meanPool(float[] hidden, Backward.Packing pk, int h, float[] pooled) {
        for (int b = 0; b < pk.count(); b++) {
            int len = pk.lengths()[b], o = b * h;
            java.util.Arrays.fill(pooled, o, o + h, 0f);
            for (int i = 0; i < len; i++) {
                int r = (pk.offsets()[b] + i) * h;
                for (int j = 0; j < h; j++) {
                    pooled[o + j] += hidden[r + j];
                }
            }
            float inv = 1f / len;
            for (int j = 0; j < h; j++) {
                pooled[o + j] *= inv;
            }
        }
    }

    /** Backward of {@link #meanPool}: adds {@code dPooled / length} to every row of the sequence. */
    public static void meanPoolBackward(float[] dPooled, Backward.Packing pk, int h, float[] dHidden) {
        for (int b = 0; b < pk.count(); b++) {
            int len = pk.lengths()[b], o = b * h;
            float inv = 1f / len;
            for (int i = 0; i < len; i++) {
                int r = (pk.offsets()[b] + i) * h;
                for (int j = 0; j < h; j++) {
                    dHidden[r + j] += dPooled[o + j] * inv;
                }
            }
        }
    }

    /**
     * {@code weight · mean_b (1 − cos(s_b, t_b))} over {@code n} rows of width {@code h}; the student's gradient
     * goes to {@code ds}. A zero student row has no defined direction and contributes loss 1 and no gradient.
     */
    public static double cosine(float[] s, float[] t, int n, int h, float[] ds, float weight) {
        double total = 0;
        for (int b = 0; b < n; b++) {
            int o = b * h;
            double dot = 0, ss = 0, tt = 0;
            for (int j = 0; j < h; j++) {
                dot += (double) s[o + j] * t[o + j];
                ss += (double) s[o + j] * s[o + j];
                tt += (double) t[o + j] * t[o + j];
            }
            if (ss == 0 || tt == 0) {
                total += 1;
                continue;
            }
            double ns = Math.sqrt(ss), nt = Math.sqrt(tt), cos = dot / (ns * nt);
            total += 1 - cos;
            if (ds != null) {
                double f = -weight / n;
                for (int j = 0; j < h; j++) {
                    ds[o + j] += (float) (f * (t[o + j] / (ns * nt) - cos * s[o + j] / ss));
                }
            }
        }
        return weight * total / n;
    }

    /**
     * Relational (similarity-preserving) distillation over a batch of {@code n} pooled embeddings of width
     * {@code h}: {@code weight · mean over pairs i ≠ j of (ŝ_i·ŝ_j − t̂_i·t̂_j)²}, the hats being unit vectors.
     * It matches the batch's cosine-similarity matrix, the geometry nearest-neighbour search sees, rather than each
     * embedding alone. Gradient with respect to {@code s} into {@code ds}; a zero row (no direction) takes part as
     * the zero vector and gets no gradient. Fewer than two rows: loss 0.
     */
    public static double similarity(float[] s, float[] t, int n, int h, float[] ds, float weight) {
        if (n < 2) {
            return 0;
        }
        double[] su = unit(s, n, h), tu = unit(t, n, h);
        double[] norms = new double[n];
        for (int b = 0; b < n; b++) {
            double ss = 0;
            for (int j = 0; j < h; j++) {
                ss += (double) s[b * h + j] * s[b * h + j];
            }
            norms[b] = Math.sqrt(ss);
        }
        double pairs = (double) n * (n - 1), total = 0;
        double[] diff = new double[n * n];
        for (int a = 0; a < n; a++) {
            for (int b = a + 1; b < n; b++) {
                double ds1 = 0, dt = 0;
                for (int j = 0; j < h; j++) {
                    ds1 += su[a * h + j] * su[b * h + j];
                    dt += tu[a * h + j] * tu[b * h + j];
                }
                double d = ds1 - dt;
                diff[a * n + b] = d;
                diff[b * n + a] = d;
                total += 2 * d * d;
            }
        }
        if (ds != null) {
            double[] g = new double[h];
            for (int a = 0; a < n; a++) {
                if (norms[a] == 0) {
                    continue;
                }
                // dL/dŝ_a = weight · (4 / pairs) · Σ_b d_ab ŝ_b; then through the normalisation.
                java.util.Arrays.fill(g, 0);
                for (int b = 0; b < n; b++) {
                    double d = diff[a * n + b];
                    if (b == a || d == 0) {
                        continue;
                    }
                    for (int j = 0; j < h; j++) {
                        g[j] += d * su[b * h + j];
                    }
                }
                double f = weight * 4 / pairs, dot = 0;
                for (int j = 0; j < h; j++) {
                    g[j] *= f;
                    dot += g[j] * su[a * h + j];
                }
                for (int j = 0; j < h; j++) {
                    ds[a * h + j] += (float) ((g[j] - dot * su[a * h + j]) / norms[a]);
                }
            }
        }
        return weight * total / pairs;
    }

    private static double[] unit(float[] x, int n, int h) {
        double[] u = new double[n * h];
        for (int b = 0; b < n; b++) {
            double ss = 0;
            for (int j = 0; j < h; j++) {
                ss += (double) x[b * h + j] * x[b * h + j];
            }
            double inv = ss == 0 ? 0 : 1 / Math.sqrt(ss);
            for (int j = 0; j < h; j++) {
                u[b * h + j] = x[b * h + j] * inv;
            }
        }
        return u;
    }

    /** {@code weight · mean((s − t)²)} over {@code n} values; gradient into {@code ds}. */
    public static double mse(float[] s, float[] t, int n, float[] ds, float weight) {
        double total = 0;
        float f = 2f * weight / n;
        for (int i = 0; i < n; i++) {
            float d = s[i] - t[i];
            total += (double) d * d;
            if (ds != null) {
                ds[i] += f * d;
            }
        }
        return weight * total / n;
    }

    /**
     * Attention-distribution transfer (MiniLM): {@code weight · mean over rows of KL(pT ‖ pS)}, the rows being
     * the softmax rows of every sequence and head ({@code count} rows, {@code probs} layout of
     * {@link Backward.Packing#probSize}). Its gradient with respect to the student's scaled scores,
     * {@code weight · (pS − pT) / rows}, goes to {@code dScores}.
     */
    public static double attentionKl(float[] pS, float[] pT, Backward.Packing pk, int heads, float[] dScores,
            float weight) {
        long rowsTotal = 0;
        for (int l : pk.lengths()) {
            rowsTotal += (long) heads * l;
        }
        double total = 0;
        float f = (float) (weight / rowsTotal);
        long size = pk.probSize(heads);
        for (int i = 0; i < size; i++) {
            float t = pT[i], s = pS[i];
            if (t > 0f) {
                total += t * (Math.log(t) - Math.log(Math.max(s, 1e-30f)));
            }
            if (dScores != null) {
                dScores[i] += f * (s - t);
            }
        }
        return weight * total / rowsTotal;
    }

    /**
     * Hinton's soft targets: {@code weight · T² · mean_b KL(softmax(t_b / T) ‖ softmax(s_b / T))} over
     * {@code n} rows of {@code c} logits. The T² factor keeps the gradient's scale independent of T; the
     * gradient with respect to the student's logits is {@code weight · T · (softmax(s/T) − softmax(t/T)) / n}.
     */
    public static double softTargets(float[] s, float[] t, int n, int c, float temperature, float[] ds, float weight) {
        if (!(temperature > 0)) {
            throw new IllegalArgumentException("temperature must be positive, got " + temperature);
        }
        double total = 0;
        double[] ps = new double[c], pt = new double[c];
        for (int b = 0; b < n; b++) {
            softmax(s, b * c, c, temperature, ps);
            softmax(t, b * c, c, temperature, pt);
            for (int j = 0; j < c; j++) {
                if (pt[j] > 0) {
                    total += pt[j] * (Math.log(pt[j]) - Math.log(Math.max(ps[j], 1e-300)));
                }
                if (ds != null) {
                    ds[b * c + j] += (float) (weight * temperature * (ps[j] - pt[j]) / n);
                }
            }
        }
        return weight * temperature * temperature * total / n;
    }

    /** {@code weight · mean_b −log softmax(s_b)[label_b]}; gradient into {@code ds}. */
    public static double crossEntropy(float[] s, int[] labels, int n, int c, float[] ds, float weight) {
        double total = 0;
        double[] p = new double[c];
        for (int b = 0; b < n; b++) {
            if (labels[b] < 0 || labels[b] >= c) {
                throw new IllegalArgumentException("label " + labels[b] + " of row " + b + " is outside [0, " + c + ")");
            }
            softmax(s, b * c, c, 1f, p);
            total -= Math.log(Math.max(p[labels[b]], 1e-300));
            if (ds != null) {
                for (int j = 0; j < c; j++) {
                    ds[b * c + j] += (float) (weight * (p[j] - (j == labels[b] ? 1 : 0)) / n);
                }
            }
        }
        return weight * total / n;
    }

    /** Softmax of {@code x[off..off+c) / temperature} in double. */
    public static void softmax(float[] x, int off, int c, float temperature, double[] out) {
        double mx = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < c; j++) {
            mx = Math.max(mx, x[off + j] / (double) temperature);
        }
        double sum = 0;
        for (int j = 0; j < c; j++) {
            out[j] = Math.exp(x[off + j] / (double) temperature - mx);
            sum += out[j];
        }
        for (int j = 0; j < c; j++) {
            out[j] /= sum;
        }
    }
}
