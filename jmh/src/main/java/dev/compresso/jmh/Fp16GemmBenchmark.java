package dev.compresso.jmh;

import dev.compresso.engine.kernel.Activation;
import dev.compresso.engine.kernel.Int8Mode;
import dev.compresso.engine.kernel.KernelPool;
import dev.compresso.engine.kernel.Kernels;
import dev.compresso.engine.weights.Fp32Panels;
import dev.compresso.engine.weights.Fp16Panels;
import dev.compresso.engine.weights.PackedWeights;
import dev.compresso.engine.weights.Panels;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
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

/**
 * fp16-weight linear layers {@code [M, K] · [N, K]ᵀ}, with the fp32 kernel on the same shape as the baseline
 * ({@code format=fp32}). {@code threads=0} means all cores.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx4g"})
public class Fp16GemmBenchmark {

    @Param({"1x384x384", "1x1536x384", "128x384x384", "128x1536x384", "1024x1024x1024", "1x4096x4096"})
    public String shape;

    @Param({"fp16", "fp32"})
    public String format;

    @Param({"1", "0"})
    public int threads;

    private int m;
    private int t;
    private PackedWeights w;
    private MemorySegment a;
    private MemorySegment bias;
    private MemorySegment c;

    @Setup(Level.Trial)
    public void setup() {
        String[] s = shape.split("x");
        m = Integer.parseInt(s[0]);
        int n = Integer.parseInt(s[1]), k = Integer.parseInt(s[2]);
        t = threads == 0 ? KernelPool.cores() : threads;
        Random r = new Random(1);
        float[] wd = new float[n * k];
        for (int i = 0; i < wd.length; i++) wd[i] = (float) r.nextGaussian() * 0.05f;
        w = format.equals("fp32") ? Fp32Panels.pack(wd, n, k) : Fp16Panels.pack(wd, n, k);
        a = Panels.allocate((long) m * k * 4);
        for (long i = 0; i < (long) m * k; i++) a.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, (float) r.nextGaussian());
        bias = Panels.allocate((long) n * 4);
        c = Panels.allocate((long) m * n * 4);
    }

    @Benchmark
    public MemorySegment linear() {
        Kernels.linear(a, m, w, bias, Activation.NONE, c, Int8Mode.AUTO, t);
        return c;
    }
}
