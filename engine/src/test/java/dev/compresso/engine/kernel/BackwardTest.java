package dev.compresso.engine.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import java.util.function.ToDoubleFunction;
import org.junit.jupiter.api.Test;

/**
 * The training kernels against naive references and central finite differences. Each differentiable kernel
 * has a double-precision reference forward here; the loss is {@code Σ r · y} for a fixed random {@code r}, so
 * its gradient with respect to {@code y} is {@code r}, and the kernel's analytic gradient of the inputs must
 * match the finite differences of the double reference.
 */
class BackwardTest {
    private static final int[] THREADS = {1, 2, 3};

    private static float[] rand(Random r, int n, float scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (r.nextGaussian() * scale);
        }
        return a;
    }

    private static double[] toDouble(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            d[i] = a[i];
        }
        return d;
    }

    /** Central differences of {@code f} at every element of {@code x}, in double. */
    private static double[] numeric(double[] x, ToDoubleFunction<double[]> f) {
        double[] g = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            double h = 1e-6 * Math.max(1, Math.abs(x[i]));
            double keep = x[i];
            x[i] = keep + h;
            double up = f.applyAsDouble(x);
            x[i] = keep - h;
            double down = f.applyAsDouble(x);
            x[i] = keep;
            g[i] = (up - down) / (2 * h);
        }
        return g;
    }

    private static void close(double[] expect, float[] actual, int n, double tol, String what) {
        double scale = 0;
        for (int i = 0; i < n; i++) {
            scale = Math.max(scale, Math.abs(expect[i]));
        }
        for (int i = 0; i < n; i++) {
            double err = Math.abs(expect[i] - actual[i]);
            assertTrue(err <= tol * Math.max(1, scale), what + "[" + i + "]: expected " + expect[i] + ", got " + actual[i]);
        }
    }

    @Test
    void linearBackwardMatchesTheNaiveDefinitionOnAwkwardShapes() {
        Random r = new Random(7);
        for (int m : new int[] {0, 1, 5, 37}) {
            for (int n : new int[] {1, 17, 40}) {
                for (int k : new int[] {1, 3, 33}) {
                    for (int t : THREADS) {
                        float[] x = rand(r, m * k, 1), dy = rand(r, m * n, 1), w = rand(r, n * k, 1);
                        float[] wt = new float[Backward.panelSize(k, n)];
                        Backward.packPanelsTransposed(w, n, k, wt, t);
                        float[] dx = new float[m * k], dw = rand(r, n * k, 1), db = rand(r, n, 1);
                        float[] dxR = new float[m * k], dwR = dw.clone(), dbR = db.clone();
                        Backward.linearBackward(x, dy, m, n, k, wt, dx, dw, db, new Backward.Scratch(), t);
                        Backward.linearBackwardReference(x, dy, m, n, k, w, dxR, dwR, dbR);
                        String at = " m " + m + " n " + n + " k " + k + " threads " + t;
                        close(toDouble(dxR), dx, dx.length, 1e-5, "dx" + at);
                        close(toDouble(dwR), dw, dw.length, 1e-5, "dw" + at);
                        close(toDouble(dbR), db, db.length, 1e-5, "db" + at);
                    }
                }
            }
        }
    }

    @Test
    void linearForwardIsXTimesWTransposedPlusBias() {
        Random r = new Random(3);
        int m = 9, n = 21, k = 35;
        float[] x = rand(r, m * k, 1), w = rand(r, n * k, 1), b = rand(r, n, 1), y = new float[m * n];
        float[] p = new float[Backward.panelSize(n, k)];
        Backward.packPanels(w, n, k, p, 2);
        Backward.linearForward(x, m, p, b, n, k, y, new Backward.Scratch(), 2);
        double[] e = new double[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = b[j];
                for (int c = 0; c < k; c++) {
                    s += (double) x[i * k + c] * w[j * k + c];
                }
                e[i * n + j] = s;
            }
        }
        close(e, y, y.length, 1e-5, "y");
    }

    @Test
    void transposeAndPackingKeepEveryElement() {
        Random r = new Random(5);
        for (int rows : new int[] {1, 31, 33, 70}) {
            for (int cols : new int[] {1, 16, 17, 45}) {
                float[] a = rand(r, rows * cols, 1), t = new float[rows * cols];
                Backward.transpose(a, rows, cols, t, 2);
                float[] p = new float[Backward.panelSize(cols, rows)], q = new float[Backward.panelSize(cols, rows)];
                Backward.packPanelsTransposed(a, rows, cols, p, 2);
                Backward.packPanels(t, cols, rows, q, 3);
                for (int i = 0; i < rows; i++) {
                    for (int j = 0; j < cols; j++) {
                        assertEquals(a[i * cols + j], t[j * rows + i]);
                    }
                }
                assertTrue(java.util.Arrays.equals(p, q), "packing xᵀ two ways, " + rows + "x" + cols);
            }
        }
    }

    /** Double reference of layer norm with a residual; returns Σ r·y. */
    private static double layerNormLoss(double[] x, double[] res, double[] g, double[] b, double eps, int m, int n,
            float[] r) {
        double loss = 0;
        for (int i = 0; i < m; i++) {
            double mean = 0;
            for (int j = 0; j < n; j++) {
                mean += x[i * n + j] + res[i * n + j];
            }
            mean /= n;
            double var = 0;
            for (int j = 0; j < n; j++) {
                double d = x[i * n + j] + res[i * n + j] - mean;
                var += d * d;
            }
            double rs = 1 / Math.sqrt(var / n + eps);
            for (int j = 0; j < n; j++) {
                loss += r[i * n + j] * ((x[i * n + j] + res[i * n + j] - mean) * rs * g[j] + b[j]);
            }
        }
        return loss;
    }

    @Test
    void layerNormBackwardMatchesFiniteDifferences() {
        Random rnd = new Random(11);
        for (int m : new int[] {1, 4}) {
            for (int n : new int[] {1, 3, 7, 20}) {
                float eps = 1e-5f;
                float[] x = rand(rnd, m * n, 2), res = rand(rnd, m * n, 1), g = rand(rnd, n, 1), b = rand(rnd, n, 1);
                float[] r = rand(rnd, m * n, 1);
                float[] y = new float[m * n], hat = new float[m * n], rstd = new float[m];
                Backward.layerNormForward(x, res, m, n, g, b, eps, y, hat, rstd, 2);
                float[] dx = new float[m * n], dg = new float[n], db = new float[n];
                Backward.layerNormBackward(r, hat, rstd, m, n, g, dx, dg, db, new Backward.Scratch(), 2);
                double[] xd = toDouble(x), rd = toDouble(res), gd = toDouble(g), bd = toDouble(b);
                String at = " m " + m + " n " + n;
                close(numeric(xd, v -> layerNormLoss(v, rd, gd, bd, eps, m, n, r)), dx, m * n, 1e-4, "dx" + at);
                close(numeric(rd, v -> layerNormLoss(xd, v, gd, bd, eps, m, n, r)), dx, m * n, 1e-4, "dres" + at);
                close(numeric(gd, v -> layerNormLoss(xd, rd, v, bd, eps, m, n, r)), dg, n, 1e-4, "dgamma" + at);
                close(numeric(bd, v -> layerNormLoss(xd, rd, gd, v, eps, m, n, r)), db, n, 1e-4, "dbeta" + at);
            }
        }
    }

    @Test
    void geluBackwardMatchesFiniteDifferences() {
        Random rnd = new Random(13);
        float[] x = rand(rnd, 101, 3);
        x[0] = 0f;
        x[1] = -8f;
        x[2] = 8f;
        float[] r = rand(rnd, 101, 1), dx = new float[101], y = new float[101];
        Backward.gelu(x, y, 101, 2);
        for (int i = 0; i < 101; i++) {
            assertEquals(Activation.GELU.apply(x[i]), y[i], 1e-6f, "gelu(" + x[i] + ")");
        }
        Backward.geluBackward(x, r, dx, 101, 2);
        double[] xd = toDouble(x);
        ToDoubleFunction<double[]> loss = v -> {
            double s = 0;
            for (int i = 0; i < v.length; i++) {
                s += r[i] * 0.5 * v[i] * (1 + MathFunctions.erf(v[i] / Math.sqrt(2)));
            }
            return s;
        };
        close(numeric(xd, loss), dx, 101, 1e-5, "dgelu");
    }

    /** Double reference of packed multi-head attention; returns Σ r·ctx (+ Σ rs·scores when rs is given). */
    private static double attentionLoss(double[] qkv, Backward.Packing pk, int hidden, int heads, double scale,
            float[] r, float[] rs) {
        int d = hidden / heads;
        double loss = 0;
        long pOff = 0;
        for (int b = 0; b < pk.count(); b++) {
            int len = pk.lengths()[b], o = pk.offsets()[b];
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < len; i++) {
                    double[] s = new double[len];
                    double mx = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < len; j++) {
                        double dot = 0;
                        for (int t = 0; t < d; t++) {
                            dot += qkv[(o + i) * 3 * hidden + h * d + t] * qkv[(o + j) * 3 * hidden + hidden + h * d + t];
                        }
                        s[j] = dot * scale;
                        mx = Math.max(mx, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < len; j++) {
                        if (rs != null) {
                            loss += rs[(int) (pOff + ((long) h * len + i) * len + j)] * s[j];
                        }
                        s[j] = Math.exp(s[j] - mx);
                        sum += s[j];
                    }
                    for (int t = 0; t < d; t++) {
                        double c = 0;
                        for (int j = 0; j < len; j++) {
                            c += s[j] / sum * qkv[(o + j) * 3 * hidden + 2 * hidden + h * d + t];
                        }
                        loss += r[(o + i) * hidden + h * d + t] * c;
                    }
                }
            }
            pOff += (long) heads * len * len;
        }
        return loss;
    }

    @Test
    void attentionBackwardMatchesFiniteDifferences() {
        Random rnd = new Random(17);
        int hidden = 6, heads = 2;
        for (int[] lengths : new int[][] {{1}, {3}, {1, 4, 2}, {5, 1}}) {
            int[] off = new int[lengths.length];
            for (int b = 1; b < lengths.length; b++) {
                off[b] = off[b - 1] + lengths[b - 1];
            }
            Backward.Packing pk = new Backward.Packing(off, lengths);
            int rows = pk.rows();
            float scale = (float) (1 / Math.sqrt(hidden / heads));
            float[] qkv = rand(rnd, rows * 3 * hidden, 1), r = rand(rnd, rows * hidden, 1);
            float[] rs = rand(rnd, (int) pk.probSize(heads), 1);
            for (int t : THREADS) {
                float[] ctx = new float[rows * hidden], probs = new float[(int) pk.probSize(heads)];
                Backward.attentionForward(qkv, pk, hidden, heads, scale, ctx, probs, t);
                float[] dqkv = new float[rows * 3 * hidden];
                Backward.attentionBackward(qkv, pk, hidden, heads, scale, probs, r, rs, dqkv, t);
                double[] qd = toDouble(qkv);
                double[] expect = numeric(qd, v -> attentionLoss(v, pk, hidden, heads, scale, r, rs));
                close(expect, dqkv, dqkv.length, 1e-4, "dqkv lengths " + java.util.Arrays.toString(lengths) + " threads " + t);
                for (int i = 0; i < probs.length; i++) {
                    assertTrue(probs[i] >= 0 && probs[i] <= 1, "probability " + probs[i]);
                }
            }
        }
    }

    @Test
    void attentionForwardAgreesWithTheInferenceKernel() {
        // The training forward and the runtime's fused head kernel compute the same function.
        Random rnd = new Random(19);
        int hidden = 64, heads = 2, d = 32, len = 17;
        Backward.Packing pk = new Backward.Packing(new int[] {0}, new int[] {len});
        float[] qkv = rand(rnd, len * 3 * hidden, 1);
        float scale = (float) (1 / Math.sqrt(d));
        float[] ctx = new float[len * hidden], probs = new float[(int) pk.probSize(heads)];
        Backward.attentionForward(qkv, pk, hidden, heads, scale, ctx, probs, 1);
        double[] qd = toDouble(qkv);
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < len; i++) {
                for (int t = 0; t < d; t++) {
                    float[] onehot = new float[len * hidden];
                    onehot[i * hidden + h * d + t] = 1;
                    double e = attentionLoss(qd, pk, hidden, heads, scale, onehot, null);
                    assertEquals(e, ctx[i * hidden + h * d + t], 1e-5, "ctx");
                }
            }
        }
    }

    @Test
    void badShapesAreRefusedWithTheSizes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Backward.linearBackward(new float[3], new float[4], 2, 2, 2, new float[32], new float[4],
                        new float[4], null, new Backward.Scratch(), 1));
        assertTrue(e.getMessage().contains("x has 3 floats, needs 4"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Backward.Packing(new int[] {0, 2}, new int[] {1, 1}));
        assertThrows(IllegalArgumentException.class, () -> new Backward.Packing(new int[] {0}, new int[] {0}));
        assertThrows(IllegalArgumentException.class, () -> Backward.attentionForward(new float[18], new Backward.Packing(
                new int[] {0}, new int[] {1}), 6, 4, 1f, new float[6], new float[4], 1));
    }

    @Test
    void gemmAndGeluOfTheActiveProviderMatchTheScalarReference() {
        Random rnd = new Random(23);
        for (int m : new int[] {1, 3, 17}) {
            for (int n : new int[] {1, 7, 16, 33, 64, 130}) {
                for (int k : new int[] {1, 5, 32}) {
                    for (boolean acc : new boolean[] {false, true}) {
                        float[] a = rand(rnd, 2 + m * (k + 3), 1), b = rand(rnd, 1 + k * (n + 2), 1);
                        float[] c = rand(rnd, 4 + m * (n + 1), 1), ref = c.clone();
                        Kernels.PROVIDER.gemmNN(m, n, k, a, 2, k + 3, b, 1, n + 2, c, 4, n + 1, acc);
                        ScalarKernels.INSTANCE.gemmNN(m, n, k, a, 2, k + 3, b, 1, n + 2, ref, 4, n + 1, acc);
                        close(toDouble(ref), c, c.length, 1e-5, "gemm " + m + "x" + n + "x" + k + " acc " + acc);
                    }
                }
            }
        }
        float[] x = rand(rnd, 1000, 4), dy = rand(rnd, 1000, 1);
        x[0] = 30f;
        x[1] = -30f;
        x[2] = 11f;
        x[3] = -11f;
        float[] y = new float[1000], yr = new float[1000], dx = new float[1000], dxr = new float[1000];
        Kernels.PROVIDER.gelu(x, y, 0, 1000);
        ScalarKernels.INSTANCE.gelu(x, yr, 0, 1000);
        Kernels.PROVIDER.geluBackward(x, dy, dx, 3, 997);
        ScalarKernels.INSTANCE.geluBackward(x, dy, dxr, 3, 997);
        for (int i = 0; i < 1000; i++) {
            assertEquals(yr[i], y[i], 1e-5f * Math.max(1, Math.abs(yr[i])), "gelu(" + x[i] + ")");
            assertEquals(dxr[i], dx[i], 1e-5f, "gelu'(" + x[i] + ")");
        }
        assertEquals(0f, dx[0]);
        assertEquals(0f, dx[999]);
    }
}
