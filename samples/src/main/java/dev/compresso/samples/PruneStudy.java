package dev.compresso.samples;

import dev.compresso.engine.Model;
import dev.compresso.engine.Tensor;
import dev.compresso.engine.format.ModelFiles;
import dev.compresso.engine.graph.Graph;
import dev.compresso.engine.graph.Linear;
import dev.compresso.engine.kernel.KernelPool;
import dev.compresso.engine.text.WordPieceTokenizer;
import dev.compresso.prune.Layout;
import dev.compresso.prune.Pruner;
import dev.compresso.quant.EmbeddingAgreement;
import dev.compresso.quant.Fidelity;
import dev.compresso.quant.Quantizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The one-shot pruning table of {@code docs/pruning.md}: every method at every sparsity on all-MiniLM-L6-v2,
 * each pruned model written to a file, reloaded, and measured for fidelity to the unpruned model on held-out
 * sentences and for latency (batch 1 x 128 and 32 x 128), each latency measured right next to the dense fp32
 * model's so the ratio is not skewed by load on a shared machine.
 *
 * <p>Run: {@code java --add-modules=jdk.incubator.vector -cp samples/target/compresso-samples-0.1.0-SNAPSHOT.jar:samples/target/lib/*
 * dev.compresso.samples.PruneStudy [sentences] [runs] [methods] [dir] [no-baselines]}; a method
 * {@code ffn-acts} or {@code heads-acts} ranks units by activations on the calibration half of the sentences.
 */
public final class PruneStudy {
    private PruneStudy() {}

    public static void main(String[] argv) throws Exception {
        if (argv.length > 0 && argv[0].equals("latency")) {
            latency(argv);
            return;
        }
        int n = argv.length > 0 ? Integer.parseInt(argv[0]) : 200;
        int runs = argv.length > 1 ? Integer.parseInt(argv[1]) : 5;
        List<String> methods = argv.length > 2 ? List.of(argv[2].split(",")) : List.of("global", "block", "2:4", "ffn", "heads");
        Path dir = Files.createDirectories(Path.of(argv.length > 3 ? argv[3] : System.getProperty("java.io.tmpdir") + "/prune-study"));
        List<List<String>> parts = Corpus.split(Corpus.fromSystemDocs(Corpus.SYSTEM_DIRS, n));
        List<String> calib = parts.get(0), eval = parts.get(1);
        boolean baselines = argv.length <= 4 || !argv[4].equals("no-baselines");
        Path fp32Path = ModelResolver.resolveModel("all-minilm-l6-v2");
        WordPieceTokenizer tok = ModelResolver.tokenizerFor(fp32Path, null);
        int threads = KernelPool.cores();
        System.out.printf(Locale.ROOT, "all-MiniLM-L6-v2, %d held-out sentences, %d threads, latency: median of %d runs, ratio to dense fp32 measured alongside%n",
                eval.size(), threads, runs);
        System.out.println("| method | sparsity | mean cos | min cos | recall@10 | file MiB | file / ONNX | linear MiB | b1x128 ms | vs fp32 | b32x128 ms | vs fp32 | kernels |");
        System.out.println("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        try (Model fp32 = Model.load(fp32Path)) {
            Map<String, Tensor> b1 = BenchCommand.syntheticInputs(fp32, 1, 128), b32 = BenchCommand.syntheticInputs(fp32, 32, 128);
            float[][] ref = Fidelity.embed(fp32, tok, eval);
            long onnx = Files.size(fp32Path);
            if (baselines) {
                row("dense fp32", "0%", fp32, fp32, tok, eval, ref, onnx, onnx, b1, b32, runs);
                Quantizer.Result q = Quantizer.run(fp32.graph(), Quantizer.Options.of(Quantizer.Mode.INT8));
                Path qp = dir.resolve("int8.cmpr");
                ModelFiles.write(q.graph(), tok.toJson(), Map.of(), qp);
                try (Model m = Model.load(qp)) {
                    row("dense int8", "0%", m, fp32, tok, eval, ref, Files.size(qp), onnx, b1, b32, runs);
                }
            }
            Map<String, double[]> acts = null;
            for (String method : methods) {
                boolean byActs = method.endsWith("-acts");
                if (byActs && acts == null) {
                    acts = dev.compresso.prune.Importance.inputMeanSquares(fp32.graph(), tok, calib);
                }
                Pruner.Method pm = Pruner.Method.parse(byActs ? method.substring(0, method.length() - 5) : method);
                double[] ss = pm == Pruner.Method.NM_2_4 ? new double[] {0.5} : new double[] {0.3, 0.5, 0.7, 0.8, 0.9};
                for (double s : ss) {
                    study(pm, s, Layout.Values.FP32, byActs ? acts : null, fp32, tok, eval, ref, onnx, b1, b32, runs, dir, threads);
                }
                if (!byActs && (pm == Pruner.Method.GLOBAL || pm == Pruner.Method.NM_2_4)) {
                    study(pm, 0.5, Layout.Values.INT8, null, fp32, tok, eval, ref, onnx, b1, b32, runs, dir, threads);
                }
            }
        }
    }

    private static void study(Pruner.Method pm, double s, Layout.Values values, Map<String, double[]> acts, Model fp32, WordPieceTokenizer tok, List<String> eval,
            float[][] ref, long onnx, Map<String, Tensor> b1, Map<String, Tensor> b32, int runs, Path dir, int threads) throws Exception {
        long t0 = System.nanoTime();
        Pruner.Options o = new Pruner.Options(pm, s, 0.02, Layout.PROBE, values, 128, threads);
        Pruner.Result r = Pruner.run(fp32.graph(), o, acts, line -> {});
        String tag = pm.cliName().replace(':', '-') + (acts != null ? "-acts" : "");
        Path p = dir.resolve(tag + "-" + Math.round(s * 100) + "-" + values + ".cmpr");
        ModelFiles.write(r.graph(), tok.toJson(), Map.of("pruning", String.join("\n", r.report())), p);
        System.err.printf(Locale.ROOT, "%s %.0f%% %s: pruned in %.1f s; %s%n", pm.cliName(), 100 * s, values, (System.nanoTime() - t0) / 1e9,
                r.report().get(r.report().size() - 1));
        try (Model m = Model.load(p)) {
            row(pm.cliName() + (acts != null ? " (activations)" : "") + (values == Layout.Values.FP32 ? "" : " + " + values.name().toLowerCase(Locale.ROOT) + " values"),
                    Math.round(100 * s) + "%", m, fp32, tok, eval, ref, Files.size(p), onnx, b1, b32, runs);
        }
    }

    private static void row(String name, String sparsity, Model m, Model fp32, WordPieceTokenizer tok, List<String> eval, float[][] ref,
            long size, long onnx, Map<String, Tensor> b1, Map<String, Tensor> b32, int runs) throws Exception {
        EmbeddingAgreement a = EmbeddingAgreement.of(ref, Fidelity.embed(m, tok, eval));
        // Interleaved: fp32, model, fp32, model; the better median of each.
        double f1 = Fidelity.medianMillis(fp32, b1, 3, runs * 2), m1 = Fidelity.medianMillis(m, b1, 3, runs * 2);
        f1 = Math.min(f1, Fidelity.medianMillis(fp32, b1, 1, runs * 2));
        m1 = Math.min(m1, Fidelity.medianMillis(m, b1, 1, runs * 2));
        double f32 = Fidelity.medianMillis(fp32, b32, 1, runs), m32 = Fidelity.medianMillis(m, b32, 1, runs);
        long linear = 0;
        Map<String, Integer> kernels = new java.util.TreeMap<>();
        for (Linear l : m.graph().linears()) {
            linear += l.weights().byteSize();
            kernels.merge(l.weights().format(), 1, Integer::sum);
        }
        System.out.printf(Locale.ROOT, "| %s | %s | %.4f | %.4f | %.3f | %.1f | %.3f | %.1f | %.1f | %.2fx | %.0f | %.2fx | %s |%n", name, sparsity,
                a.cosineMean(), a.cosineMin(), a.recallAt10(), size / 1048576.0, (double) size / onnx, linear / 1048576.0, m1, f1 / m1,
                m32, f32 / m32, kernels.toString().replaceAll("[{}]", "").replace('=', ':'));
        System.out.flush();
    }

    /** @return the graph's linear weight bytes */
    static long linearBytes(Graph g) {
        long b = 0;
        for (Linear l : g.linears()) {
            b += l.weights().byteSize();
        }
        return b;
    }

    /**
     * {@code latency RUNS ROUNDS FILE...}: batch 1 x 128 and 32 x 128 latency of dense fp32 (the ONNX model) and
     * each file, round-robin over ROUNDS rounds (every model once per round, so load from other processes hits
     * all alike); per model the best of its round medians, and its ratio to dense fp32.
     */
    static void latency(String[] argv) throws Exception {
        int runs = Integer.parseInt(argv[1]), rounds = Integer.parseInt(argv[2]);
        List<Path> files = new ArrayList<>();
        files.add(ModelResolver.resolveModel("all-minilm-l6-v2"));
        for (int i = 3; i < argv.length; i++) {
            files.add(Path.of(argv[i]));
        }
        List<Model> models = new ArrayList<>();
        for (Path f : files) {
            models.add(Model.load(f));
        }
        Map<String, Tensor> b1 = BenchCommand.syntheticInputs(models.get(0), 1, 128), b32 = BenchCommand.syntheticInputs(models.get(0), 32, 128);
        double[][] best = new double[2][files.size()];
        for (double[] b : best) {
            java.util.Arrays.fill(b, Double.MAX_VALUE);
        }
        for (int round = 0; round < rounds; round++) {
            for (int i = 0; i < files.size(); i++) {
                best[0][i] = Math.min(best[0][i], Fidelity.medianMillis(models.get(i), b1, 2, runs));
                best[1][i] = Math.min(best[1][i], Fidelity.medianMillis(models.get(i), b32, 1, Math.max(1, runs / 3)));
            }
            System.err.printf(Locale.ROOT, "round %d of %d done%n", round + 1, rounds);
        }
        System.out.printf(Locale.ROOT, "%d threads; best of %d round-robin rounds (median of %d runs at batch 1, %d at batch 32)%n",
                KernelPool.cores(), rounds, runs, Math.max(1, runs / 3));
        System.out.println("| model | b1x128 ms | fp32 / this | b32x128 ms | fp32 / this |");
        System.out.println("|---|---|---|---|---|");
        for (int i = 0; i < files.size(); i++) {
            System.out.printf(Locale.ROOT, "| %s | %.1f | %.2fx | %.0f | %.2fx |%n", files.get(i).getFileName(), best[0][i],
                    best[0][0] / best[0][i], best[1][i], best[1][0] / best[1][i]);
        }
        for (Model m : models) {
            m.close();
        }
    }
}
