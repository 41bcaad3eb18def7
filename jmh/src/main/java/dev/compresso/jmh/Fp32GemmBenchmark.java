package dev.compresso.jmh;

import dev.compresso.engine.kernel.Activation;
import dev.compresso.engine.kernel.Int8Mode;
import dev.compresso.engine.kernel.KernelPool;
import dev.compresso.engine.kernel.Kernels;
import dev.compresso.engine.weights.Fp32Panels;
import dev.compresso.engine.weights.Panels;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
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
 * fp32 {@code C = A · Wᵀ} of shape {@code MxNxK}: Compresso's Vector API kernel ({@code impl=compresso},
 * through the public {@link Kernels#linear} facade) side by side with OpenBLAS {@code cblas_sgemm} /
 * {@code cblas_sgemv} ({@code impl=openblas}, skipped with a clear error when no OpenBLAS is installed).
 * {@code threads=all} uses every core. Score is time per call; GFLOP/s = 2·M·N·K / time.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx4g"})
public class Fp32GemmBenchmark {

    @Param({"1x384x384", "1x1536x384", "128x384x384", "128x1536x384", "1024x1024x1024", "1x4096x4096"})
    public String shape;

    @Param({"1", "all"})
    public String threads;

    @Param({"compresso", "openblas"})
    public String impl;

    private int m, n, k, t;
    private MemorySegment a, c, dense;
    private Fp32Panels packed;
    private OpenBlas blas;

    @Setup(Level.Trial)
    public void setUp() {
        String[] p = shape.split("x");
        m = Integer.parseInt(p[0]);
        n = Integer.parseInt(p[1]);
        k = Integer.parseInt(p[2]);
        t = threads.equals("all") ? KernelPool.cores() : Integer.parseInt(threads);
        SplittableRandom r = new SplittableRandom(42);
        float[] w = new float[n * k];
        for (int i = 0; i < w.length; i++) w[i] = (float) (r.nextDouble() - 0.5);
        a = Panels.allocate((long) m * k * 4);
        for (long i = 0; i < (long) m * k; i++) a.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (r.nextDouble() - 0.5));
        c = Panels.allocate((long) m * n * 4);
        if (impl.equals("openblas")) {
            blas = OpenBlas.load().orElseThrow(() -> new IllegalStateException(
                    "OpenBLAS not found (libopenblas.so.0 / libopenblas.so / libcblas.so.3): apt-get install -y libopenblas-dev"));
            blas.setThreads(t);
            dense = Panels.allocate((long) n * k * 4);
            MemorySegment.copy(w, 0, dense, ValueLayout.JAVA_FLOAT, 0, w.length);
        } else {
            packed = Fp32Panels.pack(w, n, k);
        }
    }

    @Benchmark
    public MemorySegment linear() {
        if (blas != null) {
            blas.linear(a, m, dense, n, k, c);
        } else {
            Kernels.linear(a, m, packed, null, Activation.NONE, c, Int8Mode.AUTO, t);
        }
        return c;
    }
}
