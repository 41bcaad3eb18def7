package dev.compresso.distill.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.compresso.engine.kernel.Backward;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Fake quantization: the values the int8 kernels see, and the straight-through / LSQ gradients. */
class FakeQuantTest {

    @Test
    void activationsRoundClampAndPassGradientsWhereNotClipped() {
        float s = 0.1f;
        float[] x = {0.26f, -0.26f, 0f, 12.7f, 13.0f, -50f, 0.04f};
        float[] q = new float[x.length];
        FakeQuant.activations(x, x.length, s, q);
        float[] expectCodes = {3, -3, 0, 127, 127, -127, 0};
        for (int i = 0; i < x.length; i++) {
            assertEquals(expectCodes[i] * s, q[i], 0f, "x=" + x[i]);
        }
        float[] dx = {1, 1, 1, 1, 2, 1, 1};
        double ds = FakeQuant.activationsBackward(x, x.length, s, dx);
        // inside: q - x/s; clipped above: +127 per unit gradient, below: -127
        double expect = (3 - 2.6) + (-3 + 2.6) + 0 + (127 - 127) + 2 * 127 - 127 + (0 - 0.4);
        assertEquals(expect, ds, 1e-4);
        assertArrayEquals(new float[] {1, 1, 1, 1, 0, 0, 1}, dx, 0f);
    }

    @Test
    void weightsArePerRowInt8Grids() {
        SplittableRandom r = new SplittableRandom(3);
        int rows = 5, cols = 37;
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) r.nextGaussian() * (1 + i / cols);
        }
        java.util.Arrays.fill(w, 2 * cols, 3 * cols, 0f); // an all-zero row stays zero
        float[] q = new float[w.length];
        FakeQuant.weights(w, rows, cols, q, 2);
        for (int row = 0; row < rows; row++) {
            float sc = FakeQuant.weightScale(w, row * cols, row * cols + cols);
            for (int c = 0; c < cols; c++) {
                int i = row * cols + c;
                if (sc == 0f) {
                    assertEquals(0f, q[i]);
                    continue;
                }
                double code = q[i] / sc;
                assertEquals(Math.rint(code), code, 1e-3, "on the grid");
                assertTrue(Math.abs(code) <= 127.0001);
                assertTrue(Math.abs(q[i] - w[i]) <= sc / 2 * 1.0001, "rounding error within half a step");
            }
        }
    }

    @Test
    void denseUnderQatIsTheLinearOfQuantizedWeightsAndInputs() {
        SplittableRandom r = new SplittableRandom(11);
        int m = 7, n = 9, k = 13;
        float[] wv = rand(r, n * k, 0.5f), bv = rand(r, n, 0.1f), x = rand(r, m * k, 2f), dy = rand(r, m * n, 1f);
        Dense d = new Dense("t", n, k, wv, bv, true);
        float s = 0.01f; // some inputs clip (|x| up to ~6 > 1.27)
        Param sp = d.quantize(s);
        assertThrows(IllegalStateException.class, () -> d.quantize(s));
        float[] wq = new float[n * k], xq = new float[m * k];
        FakeQuant.weights(wv, n, k, wq, 1);
        FakeQuant.activations(x, m * k, s, xq);
        Backward.Scratch scratch = new Backward.Scratch();
        float[] y = new float[m * n];
        d.forward(x, m, y, scratch, 2);
        float[] ref = new float[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double a = bv[j];
                for (int c = 0; c < k; c++) {
                    a += (double) xq[i * k + c] * wq[j * k + c];
                }
                ref[i * n + j] = (float) a;
            }
        }
        assertArrayEquals(ref, y, 1e-4f);
        float[] dx = new float[m * k];
        d.backward(x, dy, m, dx, scratch, 2);
        float[] rdx = new float[m * k], rdw = new float[n * k], rdb = new float[n];
        Backward.linearBackwardReference(xq, dy, m, n, k, wq, rdx, rdw, rdb);
        float[] masked = rdx.clone();
        double ds = FakeQuant.activationsBackward(x, m * k, s, masked);
        assertArrayEquals(masked, dx, 1e-4f);
        assertArrayEquals(rdw, d.w.grad, 1e-4f);
        assertArrayEquals(rdb, d.b.grad, 1e-4f);
        assertEquals(ds, sp.grad[0], 1e-3 * Math.max(1, Math.abs(ds)));
        int clipped = 0;
        for (float v : x) {
            clipped += Math.abs(v / s) > 127.5 ? 1 : 0;
        }
        assertTrue(clipped > 0 && clipped < x.length, "the test exercises both sides of the clip");
    }

    @Test
    void frozenOrBadScalesAreRefused() {
        Dense frozen = new Dense("f", 2, 2, new float[4], null, false);
        assertThrows(IllegalStateException.class, () -> frozen.quantize(0.1f));
        Dense d = new Dense("d", 2, 2, new float[4], null, true);
        assertThrows(IllegalArgumentException.class, () -> d.quantize(0f));
        assertThrows(IllegalArgumentException.class, () -> d.quantize(Float.NaN));
    }

    private static float[] rand(SplittableRandom r, int n, float scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextGaussian() * scale;
        }
        return a;
    }
}
