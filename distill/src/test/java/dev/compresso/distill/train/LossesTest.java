package dev.compresso.distill.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import java.util.function.ToDoubleFunction;
import org.junit.jupiter.api.Test;

/** Every loss's gradient against finite differences, and Hinton's T² scaling checked numerically. */
class LossesTest {
    private static float[] rand(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextGaussian();
        }
        return a;
    }

    private static void checkGradient(float[] x, float[] analytic, ToDoubleFunction<float[]> f, String what) {
        for (int i = 0; i < x.length; i++) {
            float keep = x[i];
            double eps = 1e-3;
            x[i] = (float) (keep + eps);
            double up = f.applyAsDouble(x);
            x[i] = (float) (keep - eps);
            double down = f.applyAsDouble(x);
            x[i] = keep;
            double fd = (up - down) / ((double) (float) (keep + eps) - (float) (keep - eps));
            assertEquals(fd, analytic[i], 2e-3 * Math.max(1, Math.abs(fd)), what + "[" + i + "]");
        }
    }

    @Test
    void gradientsMatchFiniteDifferences() {
        Random r = new Random(1);
        int n = 3, c = 5;
        float[] s = rand(r, n * c), t = rand(r, n * c);
        int[] labels = {0, 4, 2};
        float[] g = new float[n * c];
        Losses.cosine(s, t, n, c, g, 0.7f);
        checkGradient(s, g, x -> Losses.cosine(x, t, n, c, null, 0.7f), "cosine");
        g = new float[n * c];
        Losses.mse(s, t, n * c, g, 1.3f);
        checkGradient(s, g, x -> Losses.mse(x, t, n * c, null, 1.3f), "mse");
        g = new float[n * c];
        Losses.crossEntropy(s, labels, n, c, g, 0.9f);
        checkGradient(s, g, x -> Losses.crossEntropy(x, labels, n, c, null, 0.9f), "cross-entropy");
        for (float temp : new float[] {1f, 2f, 4f}) {
            float[] gs = new float[n * c];
            Losses.softTargets(s, t, n, c, temp, gs, 0.6f);
            checkGradient(s, gs, x -> Losses.softTargets(x, t, n, c, temp, null, 0.6f), "soft targets T=" + temp);
        }
    }

    @Test
    void similarityLossGradientAndValues() {
        Random r = new Random(5);
        int n = 4, h = 6;
        float[] s = rand(r, n * h), t = rand(r, n * h);
        float[] g = new float[n * h];
        double v = Losses.similarity(s, t, n, h, g, 1.7f);
        checkGradient(s, g, x -> Losses.similarity(x, t, n, h, null, 1.7f), "similarity");
        // By hand: mean over the 12 ordered pairs of the squared difference of cosines.
        double expect = 0;
        for (int a = 0; a < n; a++) {
            for (int b = 0; b < n; b++) {
                if (a != b) {
                    double d = cos(s, a, b, h) - cos(t, a, b, h);
                    expect += d * d;
                }
            }
        }
        assertEquals(1.7f * expect / (n * (n - 1)), v, 1e-9);
        // Scaling a student row does not change the loss (only directions matter), and equal geometry costs 0.
        float[] s2 = s.clone();
        for (int j = 0; j < h; j++) {
            s2[h + j] *= 3f;
        }
        assertEquals(v, Losses.similarity(s2, t, n, h, null, 1.7f), 1e-6);
        assertEquals(0, Losses.similarity(t, t, n, h, null, 1f), 1e-12);
        assertEquals(0, Losses.similarity(s, t, 1, h, new float[h], 1f));
    }

    private static double cos(float[] x, int a, int b, int h) {
        double d = 0, na = 0, nb = 0;
        for (int j = 0; j < h; j++) {
            d += (double) x[a * h + j] * x[b * h + j];
            na += (double) x[a * h + j] * x[a * h + j];
            nb += (double) x[b * h + j] * x[b * h + j];
        }
        return d / Math.sqrt(na * nb);
    }

    @Test
    void softTargetsAreScaledByTSquared() {
        // Hinton et al.: at high temperature the gradient of KL/T² ... times T² tends to (z_s − z_t) / (C·n) for
        // zero-mean logits, independent of T. Without the T² factor it would shrink as 1/T².
        Random r = new Random(2);
        int n = 2, c = 6;
        float[] s = rand(r, n * c), t = rand(r, n * c);
        for (int b = 0; b < n; b++) {
            double ms = 0, mt = 0;
            for (int j = 0; j < c; j++) {
                ms += s[b * c + j];
                mt += t[b * c + j];
            }
            for (int j = 0; j < c; j++) {
                s[b * c + j] -= (float) (ms / c);
                t[b * c + j] -= (float) (mt / c);
            }
        }
        for (float temp : new float[] {50f, 200f}) {
            float[] g = new float[n * c];
            double loss = Losses.softTargets(s, t, n, c, temp, g, 1f);
            for (int i = 0; i < n * c; i++) {
                double expect = (s[i] - t[i]) / ((double) c * n);
                assertEquals(expect, g[i], 0.02 * Math.abs(expect) + 1e-4, "T=" + temp + " logit " + i);
            }
            // and the loss itself tends to Σ (z_s − z_t)² / (2·C·n)
            double sq = 0;
            for (int i = 0; i < n * c; i++) {
                sq += (s[i] - t[i]) * (double) (s[i] - t[i]);
            }
            assertEquals(sq / (2.0 * c * n), loss, 0.03 * sq / (2.0 * c * n), "loss at T=" + temp);
        }
        assertThrows(IllegalArgumentException.class, () -> Losses.softTargets(s, t, n, c, 0f, null, 1f));
    }

    @Test
    void attentionKlIsZeroForEqualDistributionsAndPositiveOtherwise() {
        dev.compresso.engine.kernel.Backward.Packing pk = new dev.compresso.engine.kernel.Backward.Packing(new int[] {0},
                new int[] {2});
        float[] p = {0.25f, 0.75f, 0.5f, 0.5f}, q = {0.5f, 0.5f, 0.9f, 0.1f};
        float[] d = new float[4];
        assertEquals(0, Losses.attentionKl(p, p, pk, 1, d, 1f), 1e-9);
        for (float x : d) {
            assertEquals(0f, x);
        }
        assertTrue(Losses.attentionKl(q, p, pk, 1, null, 1f) > 0);
    }

    @Test
    void crossEntropyRefusesAnUnknownLabel() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Losses.crossEntropy(new float[4], new int[] {0, 2}, 2, 2, null, 1f));
        assertTrue(e.getMessage().contains("label 2 of row 1"), e.getMessage());
    }

    @Test
    void scheduleWarmsUpAndDecays() {
        Schedule lin = new Schedule(1f, 10, 110, false);
        assertEquals(0.1f, lin.at(0), 1e-6f);
        assertEquals(1f, lin.at(9), 1e-6f);
        assertEquals(0.5f, lin.at(60), 1e-6f);
        assertEquals(0f, lin.at(110), 1e-6f);
        Schedule cos = new Schedule(1f, 0, 100, true);
        assertEquals(1f, cos.at(0), 1e-6f);
        assertEquals(0.5f, cos.at(50), 1e-6f);
        assertThrows(IllegalArgumentException.class, () -> new Schedule(1f, 11, 10, false));
    }
}
