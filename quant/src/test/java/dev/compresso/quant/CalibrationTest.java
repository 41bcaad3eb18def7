package dev.compresso.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.compresso.engine.weights.Panels;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;

class CalibrationTest {

    static MemorySegment segment(float[] v) {
        MemorySegment s = Panels.allocate(v.length * 4L);
        MemorySegment.copy(v, 0, s, ValueLayout.JAVA_FLOAT, 0, v.length);
        return s;
    }

    @Test
    void histogramGrowthKeepsEveryCountAndTheExactMax() {
        AbsHistogram h = new AbsHistogram();
        Random r = new Random(1);
        float[] a = new float[1000];
        for (int i = 0; i < a.length; i++) a[i] = (float) r.nextGaussian();
        h.add(a);
        float[] b = new float[1000];
        for (int i = 0; i < b.length; i++) b[i] = (float) r.nextGaussian() * 50;
        h.add(b);
        double sum = 0;
        for (double c : h.counts()) sum += c;
        assertEquals(2000, sum, 0);
        assertEquals(2000, h.total());
        float max = 0;
        for (float v : a) max = Math.max(max, Math.abs(v));
        for (float v : b) max = Math.max(max, Math.abs(v));
        assertEquals(max, h.max());
        assertTrue(h.range() >= max);
    }

    @Test
    void zerosFirstThenValues() {
        AbsHistogram h = new AbsHistogram();
        h.add(new float[10]);
        assertEquals(0f, RangeEstimator.MSE.threshold(h));
        h.add(new float[] {1f, -2f});
        assertEquals(2f, RangeEstimator.MINMAX.threshold(h));
        assertEquals(12, h.total());
    }

    /**
     * Gaussian bulk plus two huge outliers: percentile and entropy clip them; MSE may keep them (their squared
     * clipping error outweighs the rounding noise of 200k small values), but its measured error is the lowest.
     */
    @Test
    void estimatorsClipOutliersMinMaxDoesNot() {
        AbsHistogram h = new AbsHistogram();
        Random r = new Random(2);
        float[] x = new float[200_000];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        x[17] = 1000f;
        x[99] = -800f;
        h.add(x);
        assertEquals(1000f, RangeEstimator.MINMAX.threshold(h));
        for (RangeEstimator e : new RangeEstimator[] {RangeEstimator.PERCENTILE, RangeEstimator.ENTROPY}) {
            float t = e.threshold(h);
            assertTrue(t > 1.5f && t <= 1000f / 16, e + " threshold " + t); // entropy: at least 128 of 2048 bins
        }
        double eMse = quantError(x, RangeEstimator.MSE.threshold(h));
        for (RangeEstimator e : RangeEstimator.values()) {
            assertTrue(eMse <= quantError(x, e.threshold(h)) * 1.05, "mse " + eMse + " vs " + e);
        }
    }

    /** On a uniform distribution without outliers, clipping buys nothing: MSE keeps (almost) the whole range. */
    @Test
    void mseKeepsTheRangeOfAUniformDistribution() {
        AbsHistogram h = new AbsHistogram();
        Random r = new Random(3);
        float[] x = new float[100_000];
        for (int i = 0; i < x.length; i++) x[i] = r.nextFloat() * 2 - 1;
        h.add(x);
        float t = RangeEstimator.MSE.threshold(h);
        assertTrue(t > 0.97f && t <= 1f, "mse threshold " + t);
        float p = RangeEstimator.PERCENTILE.threshold(h);
        assertTrue(p > 0.99f && p <= 1f, "percentile " + p);
    }

    /** The MSE estimator's threshold really has lower quantization error than min-max on heavy-tailed data. */
    @Test
    void mseThresholdReducesMeasuredError() {
        Random r = new Random(4);
        float[] x = new float[50_000];
        for (int i = 0; i < x.length; i++) {
            double g = r.nextGaussian();
            x[i] = (float) (g * g * g); // heavy tails
        }
        AbsHistogram h = new AbsHistogram();
        h.add(x);
        double eMse = quantError(x, RangeEstimator.MSE.threshold(h));
        double eMax = quantError(x, RangeEstimator.MINMAX.threshold(h));
        assertTrue(eMse < eMax, eMse + " vs " + eMax);
    }

    static double quantError(float[] x, float t) {
        double s = t / 127.0, e = 0;
        for (float v : x) {
            double q = Math.max(-127, Math.min(127, Math.round(v / s))) * s;
            e += (v - q) * (v - q);
        }
        return e;
    }

    @Test
    void activationStatsTrackChannelMaximaAndRefuseNaN() {
        ActivationStats st = new ActivationStats("layer0.q");
        st.observe(segment(new float[] {1, -5, 2, 0.5f, 3, -1}), 2, 3);
        st.observe(segment(new float[] {-4, 1, 0}), 1, 3);
        assertArrayEquals(new float[] {4, 5, 2}, st.channelMax());
        assertEquals(3, st.rows());
        assertEquals(5f / 127, st.scale(RangeEstimator.MINMAX), 1e-9f);
        QuantizationException e = assertThrows(QuantizationException.class,
                () -> st.observe(segment(new float[] {1, Float.NaN, 2}), 1, 3));
        assertTrue(e.getMessage().contains("layer0.q") && e.getMessage().contains("column 1"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> st.observe(segment(new float[] {1, 2}), 1, 2));
        assertThrows(IllegalStateException.class, () -> new ActivationStats("x").scale(RangeEstimator.MSE));
    }

    @Test
    void smoothQuantPreservesTheProductAndFlattensActivations() {
        int rows = 5, k = 6, n = 4;
        Random r = new Random(6);
        float[] x = new float[rows * k];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        for (int i = 0; i < rows; i++) x[i * k + 2] *= 60; // outlier channel
        float[] w = Int8WeightsTest.random(n * k, 7, 0.2f);
        float[] xMax = new float[k];
        for (int i = 0; i < x.length; i++) xMax[i % k] = Math.max(xMax[i % k], Math.abs(x[i]));
        float[] s = SmoothQuant.factors("l", xMax, SmoothQuant.weightColumnMax(w, n, k), 0.5);
        // LayerNorm output x = gamma * xhat + beta: emulate with gamma = x, beta = 0 per row
        float[] w2 = w.clone();
        SmoothQuant.scaleWeightColumns(w2, n, k, s);
        float[] gamma = new float[k], beta = new float[k];
        java.util.Arrays.fill(gamma, 1f);
        java.util.Arrays.fill(beta, 0.5f);
        SmoothQuant.foldIntoLayerNorm(gamma, beta, s);
        for (int j = 0; j < k; j++) {
            assertEquals(1f / s[j], gamma[j], 1e-6f * gamma[j]);
            assertEquals(0.5f / s[j], beta[j], 1e-6f * Math.abs(beta[j]));
        }
        for (int i = 0; i < rows; i++) {
            for (int o = 0; o < n; o++) {
                double y = 0, y2 = 0;
                for (int j = 0; j < k; j++) {
                    y += x[i * k + j] * w[o * k + j];
                    y2 += (x[i * k + j] / s[j]) * w2[o * k + j];
                }
                assertEquals(y, y2, 1e-4 * (1 + Math.abs(y)));
            }
        }
        // the outlier channel shrinks relative to the others
        float[] x2Max = new float[k];
        for (int i = 0; i < x.length; i++) x2Max[i % k] = Math.max(x2Max[i % k], Math.abs(x[i] / s[i % k]));
        assertTrue(x2Max[2] / x2Max[0] < xMax[2] / xMax[0] / 3);
    }

    @Test
    void smoothQuantDeadChannelsAndBadAlpha() {
        float[] s = SmoothQuant.factors("l", new float[] {0f, 2f}, new float[] {1f, 0f}, 0.5);
        assertArrayEquals(new float[] {1f, 1f}, s);
        assertThrows(IllegalArgumentException.class, () -> SmoothQuant.factors("l", new float[1], new float[1], 1.5));
        assertThrows(IllegalArgumentException.class, () -> SmoothQuant.factors("l", new float[1], new float[2], 0.5));
        assertThrows(QuantizationException.class, () -> SmoothQuant.factors("l", new float[] {Float.NaN}, new float[] {1}, 0.5));
    }
}
