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
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The fused {@link Attention} operator alone, at all-MiniLM-L6-v2's shape (hidden 384, 12 heads of 32) with a
 * {@code [B, 1, 1, S]} padding mask: one layer's attention of a batch of 128-token sequences. A MiniLM inference
 * runs it six times.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx2g"})
@State(Scope.Benchmark)
public class AttentionBenchmark {
    @Param({"1", "8"})
    public int batch;
    @Param({"128"})
    public int seq;
    @Param({"2"})
    public int threads;

    private Model model;
    private Session session;
    private Map<String, Tensor> inputs;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        int heads = 12, hd = 384;
        ValueInfo q = vi("q"), k = vi("k"), v = vi("v"), m = vi("m");
        Graph g = new Graph("attention", List.of(q, k, v, m), List.of(vi("o")),
                List.of(new Attention("att", List.of("q", "k", "v", "m"), "o", heads, (float) (1 / Math.sqrt(hd / heads)))),
                Map.of());
        model = Model.of(g);
        session = model.newSession(new SessionOptions().threads(threads));
        Random r = new Random(3);
        long[] shape = {batch, seq, hd};
        float[] mask = new float[batch * seq];
        for (int b = 0; b < batch; b++) {
            for (int s = seq - b * 7; s < seq; s++) { // sequence b has 7·b padding positions
                mask[b * seq + s] = -10000f;
            }
        }
        inputs = Map.of("q", random(shape, r), "k", random(shape, r), "v", random(shape, r),
                "m", Tensor.ofFloats(new long[] {batch, 1, 1, seq}, mask));
    }

    private static ValueInfo vi(String n) {
        return new ValueInfo(n, DType.FLOAT, List.of());
    }

    private static Tensor random(long[] shape, Random r) {
        float[] x = new float[(int) Tensor.count(shape)];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        return Tensor.ofFloats(shape, x);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        session.close();
        model.close();
    }

    @Benchmark
    public Tensor attention() throws Exception {
        Tensor o = session.run(inputs).get("o");
        o.close();
        return o;
    }
}
