package dev.compresso.samples;

import dev.compresso.engine.Model;
import dev.compresso.engine.Tensor;
import dev.compresso.engine.format.ModelFiles;
import dev.compresso.engine.graph.Graph;
import dev.compresso.engine.text.WordPieceTokenizer;
import dev.compresso.quant.EmbeddingAgreement;
import dev.compresso.quant.Fidelity;
import dev.compresso.quant.Quantizer;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code demo}: all-MiniLM-L6-v2 compressed every way the build supports, one table: file size, load time,
 * latency (batch 1 × 128 tokens, median), fidelity to fp32 (mean/min cosine, recall@10) on evaluation
 * sentences disjoint from the calibration sentences.
 */
final class DemoCommand implements Command {

    @Override
    public String name() {
        return "demo";
    }

    @Override
    public String usage() {
        return "demo [--corpus FILE] [--sentences N] [--calib-sentences C] [--runs R] [--target-cosine X] [--keep DIR] "
                + "[--student FILE] [--pruned FILE] [--no-prune]";
    }

    private record Row(String variant, long bytes, double loadMs, double latencyMs, EmbeddingAgreement a, String note, Path file) {
        Row withLatency(double ms) {
            return new Row(variant, bytes, loadMs, ms, a, note, file);
        }
    }

    @Override
    public void run(Args args, PrintStream out) throws Exception {
        String corpus = args.get("corpus");
        int n = args.getInt("sentences", 400);
        int calibN = args.getInt("calib-sentences", 64);
        int runs = args.getInt("runs", 7);
        double target = args.getDouble("target-cosine", 0.995);
        String keep = args.get("keep");
        String student = args.get("student");
        String pruned = args.get("pruned");
        boolean prune = !args.flag("no-prune");
        args.finish();
        if (n < 4 || calibN < 1 || runs < 1) {
            throw new UsageException("need --sentences >= 4, --calib-sentences >= 1, --runs >= 1");
        }
        List<String> all = corpus != null ? Corpus.readLines(Path.of(corpus)) : Corpus.fromSystemDocs(Corpus.SYSTEM_DIRS, n);
        if (all.size() > n) {
            all = all.subList(0, n);
        }
        List<List<String>> parts = Corpus.split(all);
        List<String> calib = parts.get(0).subList(0, Math.min(calibN, parts.get(0).size()));
        List<String> eval = parts.get(1);
        if (eval.size() < 2) {
            throw new java.io.IOException("need at least 4 sentences for a disjoint calibration/evaluation split, found " + all.size());
        }
        Path fp32Path = ModelResolver.resolveModel("all-minilm-l6-v2");
        Path qPath = ModelResolver.resolveModel("all-minilm-l6-v2-q");
        WordPieceTokenizer tok = ModelResolver.tokenizerFor(fp32Path, null);
        Path dir = keep != null ? Files.createDirectories(Path.of(keep)) : Files.createTempDirectory("compresso-demo");
        if (keep != null) {
            // The exact sentences, so every number can be reproduced with quantize/eval.
            Files.write(dir.resolve("calib.txt"), calib);
            Files.write(dir.resolve("eval.txt"), eval);
        }
        out.printf(Locale.ROOT, "all-MiniLM-L6-v2: %d calibration and %d evaluation sentences (disjoint)%s; kernels: %s%n",
                calib.size(), eval.size(), corpus != null ? " from " + corpus : " from /usr/share/doc",
                dev.compresso.engine.kernel.Kernels.provider());
        List<Row> rows = new ArrayList<>();
        long fp32Bytes = Files.size(fp32Path);
        try (Model fp32 = Model.load(fp32Path)) {
            Map<String, Tensor> lat = BenchCommand.syntheticInputs(fp32, 1, 128);
            float[][] ref = Fidelity.embed(fp32, tok, eval);
            rows.add(new Row("fp32 (ONNX, our engine)", fp32Bytes, Double.NaN, Double.NaN, EmbeddingAgreement.of(ref, ref), "", fp32Path));
            record V(String name, Quantizer.Options o) {}
            List<V> variants = List.of(
                    new V("fp16", Quantizer.Options.of(Quantizer.Mode.FP16)),
                    new V("int8 (kernel's mode)", Quantizer.Options.of(Quantizer.Mode.INT8)),
                    new V("int8 W8A8 dynamic", withInt8Mode(Quantizer.Options.of(Quantizer.Mode.INT8), dev.compresso.engine.kernel.Int8Mode.W8A8)),
                    new V("int8-static (mse)", staticOptions(Double.NaN)),
                    new V("int8-static sq0.8 (mse)", staticOptions(0.8)),
                    new V("auto (cos " + target + ")", withTarget(Quantizer.Options.of(Quantizer.Mode.AUTO), target)));
            for (V v : variants) {
                long t0 = System.nanoTime();
                try {
                    Quantizer.Result r = Quantizer.run(fp32.graph(), v.o(), tok, calib, s -> {});
                    Path p = dir.resolve("minilm-" + v.name().replaceAll("[^a-z0-9]+", "-") + ".compresso");
                    ModelFiles.write(r.graph(), tok.toJson(), Map.of("quantization", String.join("\n", r.report())), p);
                    rows.add(measure(v.name(), p, tok, eval, ref, lat, runs,
                            String.format(Locale.ROOT, "pass %.1f s", (System.nanoTime() - t0) / 1e9)));
                } catch (Exception e) {
                    rows.add(new Row(v.name(), 0, Double.NaN, Double.NaN, null, "failed: " + e.getMessage(), null));
                }
            }
            if (prune) {
                // One-shot pruning: unstructured at the sparsity that still keeps a usable model without
                // fine-tuning, and half of every FFN's neurons (ranked by their activations on the calibration
                // sentences), which removes FLOPs on the dense kernels.
                Map<String, double[]> acts = dev.compresso.prune.Importance.inputMeanSquares(fp32.graph(), tok, calib);
                record P(String name, dev.compresso.prune.Pruner.Method m, double s, Map<String, double[]> a) {}
                for (P v : List.of(new P("pruned 30% global (one-shot)", dev.compresso.prune.Pruner.Method.GLOBAL, 0.3, null),
                        new P("pruned 50% FFN neurons (one-shot)", dev.compresso.prune.Pruner.Method.FFN, 0.5, acts))) {
                    long t0 = System.nanoTime();
                    try {
                        dev.compresso.prune.Pruner.Result r = dev.compresso.prune.Pruner.run(fp32.graph(),
                                dev.compresso.prune.Pruner.Options.of(v.m(), v.s()), v.a(), s -> {});
                        Path p = dir.resolve("minilm-" + v.name().replaceAll("[^a-z0-9]+", "-") + ".compresso");
                        ModelFiles.write(r.graph(), tok.toJson(), Map.of("pruning", String.join("\n", r.report())), p);
                        rows.add(measure(v.name(), p, tok, eval, ref, lat, runs,
                                String.format(Locale.ROOT, "pass %.1f s", (System.nanoTime() - t0) / 1e9)));
                    } catch (Exception e) {
                        rows.add(new Row(v.name(), 0, Double.NaN, Double.NaN, null, "failed: " + e.getMessage(), null));
                    }
                }
            }
            if (pruned != null) {
                // Pruning with fine-tuning runs for minutes: as for the student, the demo measures a model that
                // `./compresso prune --finetune` produced (docs/pruning.md) and says so.
                Path pp = Path.of(pruned);
                rows.add(measure("pruned + fine-tuned", pp, tok, eval, ref, lat, runs, "from " + pp.getFileName()
                        + " (./compresso prune --finetune)"));
            }
            if (student != null) {
                // Distillation takes minutes to hours, too long for a demo: the demo measures a student that
                // `./compresso distill` produced (docs/distillation.md) and says so, plus its int8 form.
                Path sp = Path.of(student);
                rows.add(measure("distilled student", sp, tok, eval, ref, lat, runs, "from " + sp.getFileName()
                        + " (./compresso distill)"));
                try (Model sm = Model.load(sp)) {
                    Quantizer.Result r = Quantizer.run(sm.graph(), Quantizer.Options.of(Quantizer.Mode.INT8), tok, calib,
                            s -> {});
                    Path p = dir.resolve("minilm-student-int8.compresso");
                    ModelFiles.write(r.graph(), tok.toJson(), Map.of("quantization", String.join("\n", r.report())), p);
                    rows.add(measure("distilled student int8", p, tok, eval, ref, lat, runs, "student, then quantize"));
                }
            }
            try {
                rows.add(measure("ORT -q (ONNX, our engine)", qPath, tok, eval, ref, lat, runs, ""));
            } catch (Exception e) {
                rows.add(new Row("ORT -q (ONNX, our engine)", Files.size(qPath), Double.NaN, Double.NaN, null, "failed: " + e.getMessage(), null));
            }
            // Latency round-robin: every variant measured in each of three rounds, best median kept, so the
            // load other processes put on the machine hits all variants alike.
            List<Model> loaded = new ArrayList<>();
            try {
                for (Row r : rows) {
                    loaded.add(r.file() == null ? null : r.file().equals(fp32Path) ? fp32 : Model.load(r.file()));
                }
                double[] best = new double[rows.size()];
                java.util.Arrays.fill(best, Double.MAX_VALUE);
                for (int round = 0; round < 3; round++) {
                    for (int i = 0; i < rows.size(); i++) {
                        if (loaded.get(i) != null) {
                            best[i] = Math.min(best[i], Fidelity.medianMillis(loaded.get(i), lat, round == 0 ? 3 : 1, runs));
                        }
                    }
                }
                for (int i = 0; i < rows.size(); i++) {
                    if (loaded.get(i) != null) {
                        rows.set(i, rows.get(i).withLatency(best[i]));
                    }
                }
            } finally {
                for (Model m : loaded) {
                    if (m != null && m != fp32) {
                        m.close();
                    }
                }
            }
        }
        // The variant column is as wide as the longest name, so every row lines up.
        int width = "variant".length();
        for (Row r : rows) {
            width = Math.max(width, r.variant().length());
        }
        String name = "%-" + width + "s";
        out.printf(Locale.ROOT, name + " %10s %7s %8s %11s %9s %9s %9s  %s%n", "variant", "file MB", "x fp32", "load ms",
                "latency ms", "cos mean", "cos min", "recall@10", "note");
        for (Row r : rows) {
            if (r.a() == null) {
                out.printf(Locale.ROOT, name + " %10s %7s %8s %11s %9s %9s %9s  %s%n", r.variant(), r.bytes() == 0 ? "-" : String.format(Locale.ROOT, "%.2f", r.bytes() / 1e6),
                        "-", "-", "-", "-", "-", "-", r.note());
                continue;
            }
            out.printf(Locale.ROOT, name + " %10.2f %7.3f %8s %11.2f %9.6f %9.6f %9.4f  %s%n", r.variant(), r.bytes() / 1e6,
                    (double) r.bytes() / fp32Bytes, Double.isNaN(r.loadMs()) ? "-" : String.format(Locale.ROOT, "%.1f", r.loadMs()),
                    r.latencyMs(), r.a().cosineMean(), r.a().cosineMin(), r.a().recallAt10(), r.note());
        }
        out.println("latency: batch 1 x 128 tokens, best of 3 round-robin medians of " + runs + " runs; fidelity: sentence embeddings vs fp32 on the evaluation sentences");
        if (keep == null) {
            try (var s = Files.list(dir)) {
                for (Path p : s.toList()) {
                    Files.deleteIfExists(p);
                }
            }
            Files.deleteIfExists(dir);
        }
    }

    private static Quantizer.Options withInt8Mode(Quantizer.Options o, dev.compresso.engine.kernel.Int8Mode m) {
        return o.withInt8Mode(m);
    }

    private static Quantizer.Options staticOptions(double alpha) {
        // One estimator keeps the demo short; `quantize --mode int8-static` tries all four and reports the winner.
        return Quantizer.Options.of(Quantizer.Mode.INT8_STATIC).withSmoothing(alpha)
                .withEstimator(dev.compresso.quant.RangeEstimator.MSE);
    }

    private static Quantizer.Options withTarget(Quantizer.Options o, double t) {
        return o.withTarget(t, o.budgetMillis());
    }

    private static Row measure(String name, Path p, WordPieceTokenizer tok, List<String> eval, float[][] ref,
            Map<String, Tensor> lat, int runs, String note) throws Exception {
        // Load time: best of three (the first load in a JVM also pays class loading).
        double load = Double.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            long t0 = System.nanoTime();
            try (Model m = Model.load(p)) {
                load = Math.min(load, (System.nanoTime() - t0) / 1e6);
            }
        }
        try (Model m = Model.load(p)) {
            float[][] e = Fidelity.embed(m, tok, eval);
            return new Row(name, Files.size(p), ModelFiles.isCompresso(p) ? load : Double.NaN, Double.NaN, EmbeddingAgreement.of(ref, e),
                    note, p);
        }
    }

}
