package dev.compresso.jmh;

import dev.compresso.engine.DType;
import dev.compresso.engine.Model;
import dev.compresso.engine.Session;
import dev.compresso.engine.SessionOptions;
import dev.compresso.engine.Tensor;
import dev.compresso.engine.graph.Attention;
import dev.compresso.engine.graph.Graph;
import dev.compresso.engine.graph.ValueInfo;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The fused attention operator at MiniLM's shape (384 wide, 12 heads, 128 tokens), timed without JMH: six
 * rounds of {@code 2400 / batch} calls, each round's mean printed. For A/B comparisons of two builds on a noisy
 * machine, run it alternately against each build's classes and compare the best rounds.
 *
 * <p>Usage: {@code AttentionTimes BATCH THREADS}
 */
public final class AttentionTimes {
    private AttentionTimes() {}

    public static void main(String[] args) throws Exception {
        int batch = Integer.parseInt(args[0]), threads = Integer.parseInt(args[1]);
        int heads = 12, hd = 384, seq = 128;
        Graph g = new Graph("attention", List.of(vi("q"), vi("k"), vi("v"), vi("m")), List.of(vi("o")),
                List.of(new Attention("att", List.of("q", "k", "v", "m"), "o", heads, 0.17f)), Map.of());
        Random r = new Random(1);
        long[] shape = {batch, seq, hd};
        float[] x = new float[batch * seq * hd];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        Map<String, Tensor> in = Map.of("q", Tensor.ofFloats(shape, x), "k", Tensor.ofFloats(shape, x),
                "v", Tensor.ofFloats(shape, x), "m", Tensor.ofFloats(new long[] {batch, 1, 1, seq}, new float[batch * seq]));
        try (Model m = Model.of(g); Session s = m.newSession(new SessionOptions().threads(threads))) {
            for (int round = 0; round < 6; round++) {
                int n = Math.max(1, 2400 / batch);
                long t0 = System.nanoTime();
                for (int i = 0; i < n; i++) {
                    s.run(in).get("o").close();
                }
                System.out.printf("batch %d, %d thread(s): %.1f us per call%n", batch, threads, (System.nanoTime() - t0) / 1e3 / n);
            }
        }
    }

    private static ValueInfo vi(String n) {
        return new ValueInfo(n, DType.FLOAT, List.of());
    }
}
