package dev.compresso.distill.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.compresso.engine.kernel.Backward;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The whole encoder's backward pass against central finite differences of its forward pass: every parameter
 * tensor is probed at several elements, with pooled-cosine, hidden-state MSE and attention-KL losses active at
 * once, on awkward shapes (a one-token sequence, odd widths).
 */
class EncoderGradientTest {
    static final EncoderConfig CFG = new EncoderConfig(13, 9, 2, 6, 2, 10, 2, 1e-5f);

    static EncoderWeights random(EncoderConfig c, long seed) {
        Random r = new Random(seed);
        int h = c.hidden(), f = c.ffn();
        List<EncoderWeights.LayerWeights> ls = new ArrayList<>();
        for (int l = 0; l < c.layers(); l++) {
            ls.add(new EncoderWeights.LayerWeights(g(r, 3 * h * h, 0.5), g(r, 3 * h, 0.1), g(r, h * h, 0.5), g(r, h, 0.1),
                    one(r, h), g(r, h, 0.1), g(r, f * h, 0.5), g(r, f, 0.1), g(r, h * f, 0.5), g(r, h, 0.1), one(r, h),
                    g(r, h, 0.1)));
        }
        return new EncoderWeights(g(r, c.vocab() * h, 1), g(r, c.maxPositions() * h, 0.3),
                g(r, c.typeVocab() * h, 0.3), one(r, h), g(r, h, 0.1), ls);
    }

    static float[] g(Random r, int n, double s) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (r.nextGaussian() * s);
        }
        return a;
    }

    static float[] one(Random r, int n) {
        float[] a = g(r, n, 0.2);
        for (int i = 0; i < n; i++) {
            a[i] += 1f;
        }
        return a;
    }

    private static TokenBatch batch() {
        TokenBatch b = TokenBatch.of(List.of(new int[] {1, 5, 7, 2}, new int[] {3}, new int[] {1, 12, 4, 4, 9}));
        int[] types = b.types();
        types[2] = 1;
        types[7] = 1;
        return b;
    }

    /** The loss of one forward pass, gradients into {@code dOut}/{@code dScores} when they are given. */
    private static double loss(Encoder e, Encoder.Pass p, TokenBatch b, float[] target, float[] hiddenTarget,
            float[] probTarget, float[][] dOut, float[][] dScores) {
        e.forward(b, p, 0f, 0, 2);
        int h = CFG.hidden(), rows = b.rows(), n = b.count();
        float[] pooled = new float[n * h], dp = dOut == null ? null : new float[n * h];
        Losses.meanPool(p.output(2), b.packing(), h, pooled);
        double l = Losses.cosine(pooled, target, n, h, dp, 1f);
        l += Losses.mse(p.output(1), hiddenTarget, rows * h, dOut == null ? null : dOut[1], 0.7f);
        l += Losses.attentionKl(p.probabilities(1), probTarget, b.packing(), CFG.heads(),
                dScores == null ? null : dScores[1], 0.5f);
        if (dOut != null) {
            Losses.meanPoolBackward(dp, b.packing(), h, dOut[2]);
        }
        return l;
    }

    @Test
    void everyParameterGradientMatchesFiniteDifferences() {
        Encoder e = Encoder.of(CFG, random(CFG, 1));
        Encoder teacher = Encoder.frozen(CFG, random(CFG, 2));
        TokenBatch b = batch();
        int h = CFG.hidden(), rows = b.rows();
        Encoder.Pass tp = teacher.newPass();
        teacher.forward(b, tp, 0f, 0, 1);
        float[] target = new float[b.count() * h];
        Losses.meanPool(tp.output(2), b.packing(), h, target);
        float[] hidden = tp.output(1).clone();
        float[] probs = tp.probabilities(1).clone();
        Encoder.Pass p = e.newPass();
        float[][] dOut = {null, new float[rows * h], new float[rows * h]};
        float[][] dScores = {null, new float[(int) b.packing().probSize(CFG.heads())]};
        e.zeroGrad();
        loss(e, p, b, target, hidden, probs, dOut, dScores);
        e.backward(p, dOut, dScores, 2);
        Random pick = new Random(5);
        int checked = 0;
        for (Param prm : e.params()) {
            float[] v = prm.values();
            float[] grad = prm.gradient().clone();
            for (int probe = 0; probe < 6; probe++) {
                int i = pick.nextInt(v.length);
                if (prm.rowSparse() || prm.name().contains("position") || prm.name().contains("type")) {
                    // rows a batch reads: ids 1..12, positions 0..4, types 0..1
                    i = (new int[] {1, 5, 7, 2, 3, 12, 4, 9}[probe % 8] % prm.rows()) * prm.cols() + pick.nextInt(prm.cols());
                }
                float keep = v[i];
                double eps = 1e-2;
                v[i] = (float) (keep + eps);
                prm.set(v.clone());
                double up = loss(e, p, b, target, hidden, probs, null, null);
                v[i] = (float) (keep - eps);
                prm.set(v.clone());
                double down = loss(e, p, b, target, hidden, probs, null, null);
                v[i] = keep;
                prm.set(v.clone());
                double fd = (up - down) / (2 * eps);
                double tol = 2e-2 * Math.max(Math.abs(fd), Math.abs(grad[i])) + 2e-3;
                assertTrue(Math.abs(fd - grad[i]) <= tol,
                        prm.name() + "[" + i + "]: analytic " + grad[i] + ", finite difference " + fd);
                checked++;
            }
        }
        assertTrue(checked >= 6 * 20, "probed " + checked);
    }

    @Test
    void dropoutReplaysTheSameMaskForTheSameKeyAndScalesTheKeptUnits() {
        Encoder e = Encoder.of(CFG, random(CFG, 3));
        TokenBatch b = batch();
        Encoder.Pass p1 = e.newPass(), p2 = e.newPass(), p3 = e.newPass();
        e.forward(b, p1, 0.3f, 77, 1);
        e.forward(b, p2, 0.3f, 77, 2);
        e.forward(b, p3, 0.3f, 78, 1);
        int n = b.rows() * CFG.hidden();
        assertTrue(java.util.Arrays.equals(java.util.Arrays.copyOf(p1.output(2), n), java.util.Arrays.copyOf(p2.output(2), n)));
        assertTrue(!java.util.Arrays.equals(java.util.Arrays.copyOf(p1.output(2), n), java.util.Arrays.copyOf(p3.output(2), n)));
    }

    @Test
    void sequencesDoNotSeeEachOther() {
        // Packed without padding: a sequence's output is the same alone or beside others.
        Encoder e = Encoder.of(CFG, random(CFG, 4));
        TokenBatch both = TokenBatch.of(List.of(new int[] {1, 5, 7, 2}, new int[] {3, 8}));
        TokenBatch alone = TokenBatch.of(List.of(new int[] {3, 8}));
        Encoder.Pass a = e.newPass(), b = e.newPass();
        e.forward(both, a, 0f, 0, 1);
        e.forward(alone, b, 0f, 0, 1);
        int h = CFG.hidden();
        for (int j = 0; j < 2 * h; j++) {
            assertEquals(b.output(2)[j], a.output(2)[4 * h + j], 1e-5f);
        }
    }

    @Test
    void outOfRangeTokensAndFrozenBackwardAreRefused() {
        Encoder e = Encoder.of(CFG, random(CFG, 5));
        Encoder.Pass p = e.newPass();
        IllegalArgumentException x = assertThrows(IllegalArgumentException.class,
                () -> e.forward(TokenBatch.of(List.of(new int[] {1, 13})), p, 0f, 0, 1));
        assertTrue(x.getMessage().contains("token id 13"), x.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> e.forward(TokenBatch.of(List.of(new int[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10})), p, 0f, 0, 1));
        Encoder f = Encoder.frozen(CFG, random(CFG, 6));
        Encoder.Pass q = f.newPass();
        f.forward(TokenBatch.of(List.of(new int[] {1})), q, 0f, 0, 1);
        assertThrows(IllegalStateException.class, () -> f.backward(q, new float[3][], null, 1));
        assertThrows(IllegalArgumentException.class, () -> Encoder.of(CFG, random(CFG.withLayers(1), 7)));
        assertThrows(IllegalArgumentException.class, () -> new Backward.Packing(new int[] {0}, new int[] {-1}));
    }
}
