package dev.compresso.distill.train;

import java.util.List;

/**
 * Adam with decoupled weight decay (Loshchilov &amp; Hutter): {@code m = β1·m + (1−β1)·g},
 * {@code v = β2·v + (1−β2)·g²}, {@code w −= lr · (m̂ / (√v̂ + ε) + λ·w)} with bias-corrected {@code m̂, v̂}; decay
 * only on parameters that {@linkplain Param#decays() decay}. Row-sparse parameters update only the rows the step
 * touched (their moments stay as they were elsewhere), as sparse embedding optimisers do.
 */
public final class AdamW {
    private final float beta1;
    private final float beta2;
    private final float eps;
    private final float weightDecay;
    private long step;

    public AdamW(float beta1, float beta2, float eps, float weightDecay) {
        if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1 && eps > 0 && weightDecay >= 0)) {
            throw new IllegalArgumentException("AdamW needs 0 <= beta < 1, eps > 0, decay >= 0; got " + beta1 + ", "
                    + beta2 + ", " + eps + ", " + weightDecay);
        }
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
    }

    /** The defaults of BERT fine-tuning: β = (0.9, 0.999), ε = 1e-6, decay 0.01. */
    public static AdamW defaults() {
        return new AdamW(0.9f, 0.999f, 1e-6f, 0.01f);
    }

    /** Steps taken (checkpoints store it). */
    public long steps() {
        return step;
    }

    void restore(long steps) {
        this.step = steps;
    }

    /**
     * Scales all gradients so their global L2 norm is at most {@code maxNorm} (no-op when {@code maxNorm <= 0}).
     *
     * @return the norm before clipping
     */
    public static double clip(List<Param> params, double maxNorm) {
        double sq = 0;
        for (Param p : params) {
            if (!p.trainable()) {
                continue;
            }
            if (p.touched != null) {
                for (int r = p.touched.nextSetBit(0); r >= 0; r = p.touched.nextSetBit(r + 1)) {
                    sq += sumSq(p.grad, r * p.cols(), (r + 1) * p.cols());
                }
            } else {
                sq += sumSq(p.grad, 0, p.grad.length);
            }
        }
        double norm = Math.sqrt(sq);
        if (maxNorm > 0 && norm > maxNorm) {
            float f = (float) (maxNorm / (norm + 1e-12));
            for (Param p : params) {
                if (p.trainable()) {
                    for (int i = 0; i < p.grad.length; i++) {
                        p.grad[i] *= f;
                    }
                }
            }
        }
        return norm;
    }

    private static double sumSq(float[] g, int from, int to) {
        double s = 0;
        for (int i = from; i < to; i++) {
            s += (double) g[i] * g[i];
        }
        return s;
    }

    /** One update of every trainable parameter at learning rate {@code lr}; marks them changed. */
    public void step(List<Param> params, float lr) {
        step++;
        float bc1 = (float) (1 - Math.pow(beta1, step)), bc2 = (float) (1 - Math.pow(beta2, step));
        for (Param p : params) {
            if (!p.trainable()) {
                continue;
            }
            float decay = p.decays() ? weightDecay : 0f;
            if (p.touched != null) {
                for (int r = p.touched.nextSetBit(0); r >= 0; r = p.touched.nextSetBit(r + 1)) {
                    update(p, r * p.cols(), (r + 1) * p.cols(), lr, decay, bc1, bc2);
                }
            } else {
                update(p, 0, p.value.length, lr, decay, bc1, bc2);
            }
            p.changed();
        }
    }

    private void update(Param p, int from, int to, float lr, float decay, float bc1, float bc2) {
        float[] w = p.value, g = p.grad, m = p.m, v = p.v;
        float b1 = beta1, b2 = beta2, c1 = 1 - beta1, c2 = 1 - beta2, e = eps;
        for (int i = from; i < to; i++) {
            float gi = g[i];
            float mi = b1 * m[i] + c1 * gi;
            float vi = b2 * v[i] + c2 * gi * gi;
            m[i] = mi;
            v[i] = vi;
            float mh = mi / bc1, vh = vi / bc2;
            w[i] -= lr * (mh / ((float) Math.sqrt(vh) + e) + decay * w[i]);
        }
    }
}
