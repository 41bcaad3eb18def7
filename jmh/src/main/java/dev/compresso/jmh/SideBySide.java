package dev.compresso.jmh;

import dev.compresso.engine.kernel.Activation;
import dev.compresso.engine.kernel.Int8Mode;
import dev.compresso.engine.kernel.Kernels;
import dev.compresso.engine.weights.Fp32Panels;
import dev.compresso.engine.weights.Panels;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Compresso's fp32 kernel against OpenBLAS in one JVM, in alternating blocks of calls (with pauses so
 * OpenBLAS's spinning threads go to sleep), reporting the median of each and their speed ratio. On a shared,
 * noisy machine this is fairer than two separate JMH forks, whose load can differ by 2×.
 *
 * <pre>java --add-modules=jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
 *   -cp "jmh/target/classes:jmh/target/lib/*" dev.compresso.jmh.SideBySide THREADS ROUNDS MxNxK...</pre>
 */
public final class SideBySide {
    private SideBySide() {}

    public static void main(String[] args) throws InterruptedException {
        if (args.length < 3) {
            System.err.println("usage: SideBySide THREADS ROUNDS MxNxK [MxNxK ...]");
            System.exit(2);
        }
        OpenBlas blas = OpenBlas.load().orElseThrow(() -> new IllegalStateException(
                "OpenBLAS not found: apt-get install -y libopenblas-dev"));
        int t = Integer.parseInt(args[0]);
        int rounds = Integer.parseInt(args[1]);
        blas.setThreads(t);
        for (int ai = 2; ai < args.length; ai++) {
            String[] p = args[ai].split("x");
            int m = Integer.parseInt(p[0]), n = Integer.parseInt(p[1]), k = Integer.parseInt(p[2]);
            SplittableRandom r = new SplittableRandom(1);
            float[] w = new float[n * k];
            for (int i = 0; i < w.length; i++) w[i] = (float) (r.nextDouble() - 0.5);
            MemorySegment a = Panels.allocate((long) m * k * 4), c = Panels.allocate((long) m * n * 4);
            MemorySegment dense = Panels.allocate((long) n * k * 4);
            for (long i = 0; i < (long) m * k; i++) a.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (r.nextDouble() - 0.5));
            MemorySegment.copy(w, 0, dense, ValueLayout.JAVA_FLOAT, 0, w.length);
            Fp32Panels packed = Fp32Panels.pack(w, n, k);
            Runnable ours = () -> Kernels.linear(a, m, packed, null, Activation.NONE, c, Int8Mode.AUTO, t);
            Runnable theirs = () -> blas.linear(a, m, dense, n, k, c);
            long work = (long) m * n * k;
            int per = work > 100_000_000L ? 3 : work > 1_000_000L ? 20 : 200;
            for (int i = 0; i < 5 * per; i++) ours.run();
            for (int i = 0; i < 5 * per; i++) theirs.run();
            Thread.sleep(300);
            long[] o = new long[rounds * per], b = new long[rounds * per];
            for (int round = 0, x = 0; round < rounds; round++) {
                for (int i = 0; i < per; i++, x++) {
                    long s = System.nanoTime();
                    ours.run();
                    o[x] = System.nanoTime() - s;
                }
                Thread.sleep(150);
                for (int i = 0; i < per; i++) {
                    long s = System.nanoTime();
                    theirs.run();
                    b[x - per + i] = System.nanoTime() - s;
                }
                Thread.sleep(150);
            }
            Arrays.sort(o);
            Arrays.sort(b);
            double mo = o[o.length / 2] / 1e6, mb = b[b.length / 2] / 1e6, mflop = 2.0 * work / 1e6;
            System.out.printf(Locale.ROOT, "%-15s threads=%d  compresso %9.4f ms %6.1f GFLOP/s  openblas %9.4f ms %6.1f GFLOP/s"
                    + "  speed compresso/openblas %.2f%n", args[ai], t, mo, mflop / mo, mb, mflop / mb, mb / mo);
        }
    }
}
