package dev.compresso.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.compresso.engine.weights.Fp16Panels;
import dev.compresso.engine.weights.Int8Panels;
import java.util.Random;
import org.junit.jupiter.api.Test;

class Int8WeightsTest {

    static float[] random(int len, long seed, float amp) {
        Random r = new Random(seed);
        float[] w = new float[len];
        for (int i = 0; i < len; i++) {
            w[i] = (float) (r.nextGaussian() * amp);
        }
        return w;
    }

    /** |w − ŵ| ≤ scale/2 (plus fp32 rounding of the product) for every weight, on awkward shapes. */
    @Test
    void roundTripErrorIsAtMostHalfAScale() {
        int[][] shapes = {{1, 1}, {1, 7}, {17, 13}, {16, 16}, {31, 1}, {3, 129}};
        for (Granularity g : Granularity.values()) {
            for (int[] s : shapes) {
                int n = s[0], k = s[1];
                float[] w = random(n * k, n * 31L + k, 0.3f);
                Int8Weights q = Int8Weights.quantize("w", w, n, k, g);
                float[] back = q.dequantize();
                for (int i = 0; i < w.length; i++) {
                    float sc = q.scales()[i / k];
                    assertTrue(Math.abs(w[i] - back[i]) <= sc / 2 * (1 + 1e-6) + Math.ulp(Math.abs(w[i])),
                            g + " " + n + "x" + k + " at " + i);
                    assertTrue(q.q()[i] >= -127 && q.q()[i] <= 127);
                }
                // the packed panels dequantize to the same values
                Int8Panels p = q.pack();
                float[] dense = p.toDense();
                for (int i = 0; i < w.length; i++) {
                    assertEquals(back[i], dense[i], 0f);
                }
            }
        }
    }

    @Test
    void extremesMapToPlusMinus127() {
        float[] w = {-2f, 0.5f, 2f, 1f};
        Int8Weights q = Int8Weights.quantize("w", w, 1, 4, Granularity.PER_CHANNEL);
        assertEquals(-127, q.q()[0]);
        assertEquals(127, q.q()[2]);
        assertEquals(2f / 127, q.scales()[0], 0f);
    }

    @Test
    void perChannelBeatsPerTensorWhenRowsDifferInMagnitude() {
        int n = 8, k = 64;
        float[] w = random(n * k, 5, 1f);
        for (int c = 0; c < k; c++) {
            w[c] *= 100f; // row 0 is 100x larger
        }
        double errC = err(w, Int8Weights.quantize("w", w, n, k, Granularity.PER_CHANNEL).dequantize(), k);
        double errT = err(w, Int8Weights.quantize("w", w, n, k, Granularity.PER_TENSOR).dequantize(), k);
        assertTrue(errC * 10 < errT, "per-channel " + errC + " vs per-tensor " + errT);
        Int8Weights t = Int8Weights.quantize("w", w, n, k, Granularity.PER_TENSOR);
        for (float s : t.scales()) {
            assertEquals(t.scales()[0], s, 0f);
        }
    }

    /** Squared error of the small rows (1..n-1). */
    private static double err(float[] w, float[] back, int k) {
        double e = 0;
        for (int i = k; i < w.length; i++) {
            e += (w[i] - back[i]) * (double) (w[i] - back[i]);
        }
        return e;
    }

    @Test
    void zeroRowGetsScaleZeroAndExactZeros() {
        float[] w = {0, 0, 0, 1, -1, 0.5f};
        Int8Weights q = Int8Weights.quantize("w", w, 2, 3, Granularity.PER_CHANNEL);
        assertEquals(0f, q.scales()[0]);
        float[] back = q.dequantize();
        for (int i = 0; i < 3; i++) {
            assertEquals(0f, back[i]);
        }
        float[] dense = q.pack().toDense();
        for (float v : dense) {
            assertTrue(Float.isFinite(v));
        }
        // all-zero tensor, per tensor too
        Int8Weights z = Int8Weights.quantize("z", new float[6], 2, 3, Granularity.PER_TENSOR);
        assertEquals(0f, z.scales()[1]);
    }

    @Test
    void constantRowIsExact() {
        float[] w = {0.25f, 0.25f, 0.25f, -3f, -3f, -3f};
        Int8Weights q = Int8Weights.quantize("w", w, 2, 3, Granularity.PER_CHANNEL);
        float[] back = q.dequantize();
        for (int i = 0; i < w.length; i++) {
            assertEquals(w[i], back[i], Math.ulp(w[i]) * 2);
        }
    }

    @Test
    void subnormalRowDoesNotProduceNanOrInfinity() {
        float[] w = {Float.MIN_VALUE, -Float.MIN_VALUE, 0f, 1f, 2f, 3f};
        Int8Weights q = Int8Weights.quantize("w", w, 2, 3, Granularity.PER_CHANNEL);
        assertEquals(0f, q.scales()[0]);
        for (float v : q.dequantize()) {
            assertTrue(Float.isFinite(v));
        }
    }

    @Test
    void hugeOutlierStaysWithinBoundAndOnlyHurtsItsRow() {
        int n = 4, k = 32;
        float[] w = random(n * k, 9, 0.1f);
        w[5] = 3e38f; // near Float.MAX_VALUE, row 0
        Int8Weights q = Int8Weights.quantize("w", w, n, k, Granularity.PER_CHANNEL);
        float[] back = q.dequantize();
        assertEquals(3e38f, back[5], 3e38f / 254 * 1.0001f);
        for (int i = k; i < w.length; i++) {
            assertTrue(Math.abs(w[i] - back[i]) <= q.scales()[i / k] / 2 * (1 + 1e-6));
        }
        for (float v : back) {
            assertTrue(Float.isFinite(v));
        }
    }

    @Test
    void nanOrInfinityIsRefusedNamingTheTensor() {
        float[] w = {1, 2, Float.NaN, 4};
        QuantizationException e = assertThrows(QuantizationException.class,
                () -> Int8Weights.quantize("encoder.layer.3.ffn", w, 2, 2, Granularity.PER_CHANNEL));
        assertTrue(e.getMessage().contains("encoder.layer.3.ffn") && e.getMessage().contains("[1, 0]"), e.getMessage());
        float[] w2 = {1, Float.NEGATIVE_INFINITY};
        assertThrows(QuantizationException.class, () -> Int8Weights.quantize("x", w2, 1, 2, Granularity.PER_TENSOR));
        assertThrows(QuantizationException.class, () -> Fp16Weights.pack("x", w2, 1, 2));
    }

    @Test
    void shapeMismatchIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> Int8Weights.quantize("w", new float[5], 2, 3, Granularity.PER_CHANNEL));
    }

    @Test
    void emptyMatrix() {
        Int8Weights q = Int8Weights.quantize("w", new float[0], 0, 5, Granularity.PER_CHANNEL);
        assertEquals(0, q.scales().length);
        assertEquals(0, q.dequantize().length);
    }

    @Test
    void fp16RoundTripWithinHalfAnUlpAndRefusesOverflow() {
        float[] w = random(17 * 13, 3, 2f);
        Fp16Panels p = Fp16Weights.pack("w", w, 17, 13);
        float[] back = p.toDense();
        for (int i = 0; i < w.length; i++) {
            float h = Float.float16ToFloat(Float.floatToFloat16(w[i]));
            assertEquals(h, back[i], 0f);
            // binary16 has 11 significant bits: relative error ≤ 2^-11
            assertTrue(Math.abs(w[i] - back[i]) <= Math.abs(w[i]) * 0x1p-11f + 0x1p-25f);
        }
        QuantizationException e = assertThrows(QuantizationException.class,
                () -> Fp16Weights.pack("big", new float[] {1f, 70000f}, 1, 2));
        assertTrue(e.getMessage().contains("big"));
        Fp16Weights.pack("edge", new float[] {65504f, -65504f}, 1, 2); // the largest finite fp16 is fine
    }
}
