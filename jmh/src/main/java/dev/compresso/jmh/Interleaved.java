package dev.compresso.jmh;

import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Two workloads timed in alternating rounds in one JVM, for ratios on a noisy machine: each round runs A then
 * B (B then A on odd rounds) for about 0.4 s each, and the report gives both medians and the median, first and
 * third quartile of the per-round ratio B/A. A slow spell of the host lands on both sides of a round, where
 * separate JMH runs minutes apart differ by ±20–50% on a shared 2-vCPU machine.
 *
 * <p>A side is {@code [CLASSES:]WORKLOAD}. {@code CLASSES}, when given, is a directory of compiled engine
 * classes (e.g. a copy of another build's {@code engine/target/classes}) loaded in a class loader of its own
 * together with this module's classes and dependencies, so two builds of the engine compare in one process.
 * Workloads:
 * <ul>
 *   <li>any {@link MiniLmBenchmark} engine ({@code compresso}, {@code ort}, {@code compresso-int8}, ...): one
 *       inference of all-MiniLM-L6-v2 at the batch given, 128 tokens; {@code compresso@FILE}: our engine on any
 *       model file with MiniLM's inputs (a distilled student, a pruned model);
 *   <li>{@code attention}: {@link AttentionBenchmark}'s fused attention at the batch given;
 *   <li>{@code gemmMxNxK}: one fp32 GEMM of that shape ({@link GemmWorkload}; the batch argument is ignored);
 *   <li>{@code sparse-FORMAT-SPARSITY-MxNxK}: one block-sparse product ({@code bsr}, {@code bsr16} or
 *       {@code bsr16-int8}, e.g. {@code sparse-bsr-0.5-128x1536x384}; the batch argument is ignored).
 * </ul>
 *
 * <p>Usage: {@code Interleaved A B BATCH THREADS ROUNDS}, e.g. {@code Interleaved ort compresso 1 2 20} or
 * {@code Interleaved /tmp/old-classes:compresso compresso 32 2 20}. Run from the repository root (the class
 * loaders read {@code jmh/target/classes} and {@code jmh/target/lib}).
 */
public final class Interleaved {
    private Interleaved() {}

    @FunctionalInterface
    private interface Op {
        void run() throws Exception;
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 5) {
            System.err.println("usage: Interleaved [CLASSES:]WORKLOAD [CLASSES:]WORKLOAD BATCH THREADS ROUNDS");
            System.exit(2);
        }
        int batch = Integer.parseInt(args[2]), threads = Integer.parseInt(args[3]), rounds = Integer.parseInt(args[4]);
        Op a = side(args[0], batch, threads), b = side(args[1], batch, threads);
        // Warm both up (C2 compiles both), then size the rounds on warm code.
        long t0 = System.nanoTime();
        for (int i = 0; System.nanoTime() - t0 < 5e9 || i < 3; i++) {
            a.run();
            b.run();
        }
        int calls = 0;
        t0 = System.nanoTime();
        while (System.nanoTime() - t0 < 1e9 || calls < 2) {
            a.run();
            b.run();
            calls++;
        }
        int n = Math.max(1, (int) (400 / ((System.nanoTime() - t0) / 2e6 / calls)));
        double[] ta = new double[rounds], tb = new double[rounds], ratio = new double[rounds];
        for (int r = 0; r < rounds; r++) {
            boolean aFirst = r % 2 == 0;
            double first = time(aFirst ? a : b, n), second = time(aFirst ? b : a, n);
            ta[r] = aFirst ? first : second;
            tb[r] = aFirst ? second : first;
            ratio[r] = tb[r] / ta[r];
        }
        System.out.printf("A = %s, B = %s, batch %d, %d threads, %d rounds of %d calls each%n", args[0], args[1], batch,
                threads, rounds, n);
        System.out.printf("A: median %.3f ms (min %.3f)   B: median %.3f ms (min %.3f)   B/A: median %.3f (quartiles %.3f-%.3f)%n",
                quantile(ta, 0.5), quantile(ta, 0), quantile(tb, 0.5), quantile(tb, 0), quantile(ratio, 0.5),
                quantile(ratio, 0.25), quantile(ratio, 0.75));
        System.exit(0); // ONNX Runtime's and the engine's pools hold non-daemon resources
    }

    private static double time(Op op, int n) throws Exception {
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            op.run();
        }
        return (System.nanoTime() - t0) / 1e6 / n;
    }

    static double quantile(double[] x, double q) {
        double[] y = x.clone();
        Arrays.sort(y);
        double pos = q * (y.length - 1);
        int lo = (int) Math.floor(pos), hi = (int) Math.ceil(pos);
        return y[lo] + (y[hi] - y[lo]) * (pos - lo);
    }

    private static Op side(String spec, int batch, int threads) throws Exception {
        int colon = spec.lastIndexOf(':');
        String workload = colon < 0 ? spec : spec.substring(colon + 1);
        ClassLoader loader = colon < 0 ? Interleaved.class.getClassLoader() : loader(Path.of(spec.substring(0, colon)));
        if (workload.startsWith("gemm")) {
            String[] d = workload.substring(4).split("x");
            if (d.length != 3) {
                throw new IllegalArgumentException("gemm workload must be gemmMxNxK, not " + workload);
            }
            Runnable r = (Runnable) loader.loadClass("dev.compresso.jmh.GemmWorkload")
                    .getMethod("make", int.class, int.class, int.class, int.class)
                    .invoke(null, Integer.parseInt(d[0]), Integer.parseInt(d[1]), Integer.parseInt(d[2]), threads);
            return r::run;
        }
        if (workload.startsWith("sparse-")) {
            String[] f = workload.split("-");
            String[] d = f[f.length - 1].split("x");
            if (f.length < 4 || d.length != 3) {
                throw new IllegalArgumentException("sparse workload must be sparse-FORMAT-SPARSITY-MxNxK, not " + workload);
            }
            String format = String.join("-", Arrays.copyOfRange(f, 1, f.length - 2));
            Runnable r = (Runnable) loader.loadClass("dev.compresso.jmh.GemmWorkload")
                    .getMethod("sparse", String.class, double.class, int.class, int.class, int.class, int.class)
                    .invoke(null, format, Double.parseDouble(f[f.length - 2]), Integer.parseInt(d[0]),
                            Integer.parseInt(d[1]), Integer.parseInt(d[2]), threads);
            return r::run;
        }
        if (workload.equals("attention")) {
            Class<?> c = loader.loadClass("dev.compresso.jmh.AttentionBenchmark");
            Object bench = c.getConstructor().newInstance();
            c.getField("batch").setInt(bench, batch);
            c.getField("seq").setInt(bench, 128);
            c.getField("threads").setInt(bench, threads);
            c.getMethod("setUp").invoke(bench);
            Method m = c.getMethod("attention");
            return () -> m.invoke(bench);
        }
        Class<?> sc = loader.loadClass("dev.compresso.jmh.MiniLmBenchmark$Infer");
        Object state = sc.getConstructor().newInstance();
        sc.getField("batch").setInt(state, batch);
        sc.getField("seq").setInt(state, 128);
        sc.getField("threads").setInt(state, threads);
        sc.getField("engine").set(state, workload);
        sc.getMethod("setup").invoke(state);
        Class<?> bc = loader.loadClass("dev.compresso.jmh.MiniLmBenchmark");
        Object bench = bc.getConstructor().newInstance();
        Method infer = bc.getMethod("infer", sc);
        return () -> infer.invoke(bench, state);
    }

    /** Engine classes from {@code classes}, then this module's classes and its libraries but the engine jar. */
    private static ClassLoader loader(Path classes) throws Exception {
        if (!Files.isDirectory(classes)) {
            throw new IllegalArgumentException("not a directory of classes: " + classes);
        }
        List<URL> urls = new ArrayList<>();
        urls.add(classes.toUri().toURL());
        urls.add(Path.of("jmh/target/classes").toUri().toURL());
        try (DirectoryStream<Path> jars = Files.newDirectoryStream(Path.of("jmh/target/lib"), "*.jar")) {
            for (Path j : jars) {
                if (!j.getFileName().toString().startsWith("compresso-engine")) {
                    urls.add(j.toUri().toURL());
                }
            }
        }
        return new URLClassLoader(urls.toArray(URL[]::new), ClassLoader.getPlatformClassLoader());
    }
}
