package dev.compresso.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.compresso.engine.graph.Attention;
import dev.compresso.engine.graph.Graph;
import dev.compresso.engine.graph.LayerNorm;
import dev.compresso.engine.graph.ValueInfo;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Fused Attention and LayerNorm against plain double-precision references on awkward shapes. */
class FusedOpsTest {

    static float[] rnd(int n, Random r) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return v;
    }

    static ValueInfo vi(String n) {
        return new ValueInfo(n, DType.FLOAT, List.of());
    }

    @ParameterizedTest
    @CsvSource({"1,1,1,1,0", "2,3,2,5,1", "3,17,4,7,1", "1,33,3,16,2", "2,16,1,1,0", "2,40,6,32,2", "1,0,2,4,0",
            "5,33,3,20,2", "4,1,2,3,1", "3,0,2,4,1", "7,18,12,32,1"})
    void attentionMatchesReference(int b, int s, int h, int d, int maskKind) throws Exception {
        Random r = new Random(b * 1000 + s * 10 + h);
        int hd = h * d;
        float[] q = rnd(b * s * hd, r), k = rnd(b * s * hd, r), v = rnd(b * s * hd, r);
        long[] mshape = maskKind == 1 ? new long[] {b, 1, 1, s} : new long[] {b, 1, s, s};
        float[] mask = new float[(int) Tensor.count(mshape)];
        for (int i = 0; i < mask.length; i++) {
            mask[i] = r.nextInt(4) == 0 ? -10000f : (float) r.nextGaussian();
        }
        float scale = (float) (1 / Math.sqrt(d));
        List<String> ins = maskKind == 0 ? List.of("q", "k", "v") : List.of("q", "k", "v", "m");
        Graph g = new Graph("att", maskKind == 0 ? List.of(vi("q"), vi("k"), vi("v")) : List.of(vi("q"), vi("k"), vi("v"), vi("m")),
                List.of(vi("o")), List.of(new Attention("att", ins, "o", h, scale)), Map.of());
        long[] shape = {b, s, hd};
        Map<String, Tensor> in = new java.util.HashMap<>(Map.of("q", Tensor.ofFloats(shape, q), "k", Tensor.ofFloats(shape, k),
                "v", Tensor.ofFloats(shape, v)));
        if (maskKind != 0) {
            in.put("m", Tensor.ofFloats(mshape, mask));
        }
        float[] got;
        try (Model m = Model.of(g); Session se = m.newSession(new SessionOptions().threads(2))) {
            Tensor o = se.run(in).get("o");
            assertArrayEquals(shape, o.shape());
            got = o.toFloatArray();
        }
        float max = 0;
        for (int bb = 0; bb < b; bb++) {
            for (int hh = 0; hh < h; hh++) {
                for (int i = 0; i < s; i++) {
                    double[] p = new double[s];
                    double mx = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < s; j++) {
                        double dot = 0;
                        for (int e = 0; e < d; e++) {
                            dot += (double) q[(bb * s + i) * hd + hh * d + e] * k[(bb * s + j) * hd + hh * d + e];
                        }
                        dot *= scale;
                        if (maskKind == 1) {
                            dot += mask[bb * s + j];
                        } else if (maskKind == 2) {
                            dot += mask[(bb * s + i) * s + j];
                        }
                        p[j] = dot;
                        mx = Math.max(mx, dot);
                    }
                    double sum = 0;
                    for (int j = 0; j < s; j++) {
                        p[j] = Math.exp(p[j] - mx);
                        sum += p[j];
                    }
                    for (int e = 0; e < d; e++) {
                        double o = 0;
                        for (int j = 0; j < s; j++) {
                            o += p[j] / sum * v[(bb * s + j) * hd + hh * d + e];
                        }
                        max = Math.max(max, (float) Math.abs(o - got[(bb * s + i) * hd + hh * d + e]));
                    }
                }
            }
        }
        assertTrue(max <= 2e-5f, "attention b=" + b + " s=" + s + " h=" + h + " d=" + d + ": max|diff| " + max);
    }

    @ParameterizedTest
    @CsvSource({"1,1,true", "3,7,false", "5,384,true", "2,33,true", "0,8,false"})
    void layerNormMatchesReference(int rows, int ch, boolean residual) throws Exception {
        Random r = new Random(rows * 31 + ch);
        float[] x = rnd(rows * ch, r), res = rnd(rows * ch, r), g = rnd(ch, r), be = rnd(ch, r);
        List<String> ins = residual ? List.of("x", "r") : List.of("x");
        Graph gr = new Graph("ln", residual ? List.of(vi("x"), vi("r")) : List.of(vi("x")), List.of(vi("y")),
                List.of(new LayerNorm("ln", ins, "y", g, be, 1e-12f)), Map.of());
        long[] shape = {rows, ch};
        Map<String, Tensor> in = residual ? Map.of("x", Tensor.ofFloats(shape, x), "r", Tensor.ofFloats(shape, res))
                : Map.of("x", Tensor.ofFloats(shape, x));
        float[] got;
        try (Model m = Model.of(gr); Session se = m.newSession()) {
            got = se.run(in).get("y").toFloatArray();
        }
        float max = 0;
        for (int i = 0; i < rows; i++) {
            double mean = 0, var = 0;
            for (int c = 0; c < ch; c++) {
                mean += x[i * ch + c] + (residual ? res[i * ch + c] : 0);
            }
            mean /= ch;
            for (int c = 0; c < ch; c++) {
                double dd = x[i * ch + c] + (residual ? res[i * ch + c] : 0) - mean;
                var += dd * dd;
            }
            var /= ch;
            for (int c = 0; c < ch; c++) {
                double y = (x[i * ch + c] + (residual ? res[i * ch + c] : 0) - mean) / Math.sqrt(var + 1e-12) * g[c] + be[c];
                max = Math.max(max, (float) Math.abs(y - got[i * ch + c]));
            }
        }
        assertTrue(max <= 1e-4f, "layer norm rows=" + rows + " ch=" + ch + ": " + max);
    }
}
