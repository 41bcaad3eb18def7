package dev.compresso.samples;

import dev.compresso.engine.Model;
import dev.compresso.engine.format.ModelFiles;
import dev.compresso.engine.kernel.KernelPool;
import dev.compresso.engine.text.WordPieceTokenizer;
import dev.compresso.prune.Layout;
import dev.compresso.prune.Pruner;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/**
 * {@code prune}: a one-shot pruning pass; writes the Compresso model file atomically, the per-layer report
 * (sparsity, pattern, kernel, bytes) on stdout and progress on stderr.
 */
final class PruneCommand implements Command {

    @Override
    public String name() {
        return "prune";
    }

    @Override
    public String usage() {
        return "prune --model IN --sparsity S --out OUT [--method global|magnitude|block|block-global|block16|block16-global|2:4|heads|ffn] [--finetune CORPUS] "
                + "[--steps N] [--lr X] [--crops] [--train-embeddings] [--floor F] [--layout probe|dense|csr|bsr|bsr16|2:4] [--values fp32|fp16|int8] [--probe-rows M] "
                + "[--threads T] [--calib FILE] [--tokenizer T]";
    }

    @Override
    public void run(Args args, PrintStream out) throws Exception {
        String modelSpec = args.require("model");
        String sparsityText = args.require("sparsity");
        Path outPath = Path.of(args.require("out"));
        String methodName = args.get("method", "global");
        String finetune = args.get("finetune");
        int steps = args.getInt("steps", 0);
        double lr = args.getDouble("lr", 5e-4);
        boolean crops = args.flag("crops");
        boolean trainEmbeddings = args.flag("train-embeddings");
        double floor = args.getDouble("floor", 0.02);
        String layoutName = args.get("layout", "probe");
        String valuesName = args.get("values", "fp32");
        int probeRows = args.getInt("probe-rows", 128);
        int threads = args.getInt("threads", KernelPool.cores());
        String tokOpt = args.get("tokenizer");
        String calib = args.get("calib");
        args.finish();
        double sparsity;
        try {
            sparsity = sparsityText.endsWith("%") ? Double.parseDouble(sparsityText.substring(0, sparsityText.length() - 1)) / 100
                    : Double.parseDouble(sparsityText);
        } catch (NumberFormatException e) {
            throw new UsageException("--sparsity must be a fraction in [0, 1] (or a percentage such as 50%), not '" + sparsityText + "'");
        }
        if (!(sparsity >= 0 && sparsity <= 1)) {
            throw new UsageException("--sparsity must be in [0, 1], not " + sparsityText);
        }
        if (!(floor >= 0 && floor <= 1)) {
            throw new UsageException("--floor must be in [0, 1]");
        }
        if (probeRows < 1 || threads < 1 || steps < 0) {
            throw new UsageException("--probe-rows and --threads must be at least 1, --steps at least 0");
        }
        if (!(lr > 0 && lr < 1)) {
            throw new UsageException("--lr must be in (0, 1), not " + lr);
        }
        if (steps > 0 && finetune == null) {
            throw new UsageException("--steps needs --finetune CORPUS (the sentences the fine-tuning runs on)");
        }
        Pruner.Method method;
        Layout layout;
        Layout.Values values;
        try {
            method = Pruner.Method.parse(methodName);
            layout = Layout.parse(layoutName);
            values = Layout.Values.parse(valuesName);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        if (layout == Layout.BSR && values != Layout.Values.FP32) {
            throw new UsageException("--layout bsr stores fp32 values only");
        }
        if (method == Pruner.Method.NM_2_4 && Math.abs(sparsity - 0.5) > 1e-9) {
            System.err.printf(Locale.ROOT, "compresso prune: 2:4 fixes sparsity at 50%%; --sparsity %s ignored%n", sparsityText);
        }
        if (finetune != null && method == Pruner.Method.HEADS) {
            throw new UsageException("--finetune takes every method but heads; heads are pruned one-shot only");
        }
        Path modelPath = ModelResolver.resolveModel(modelSpec);
        Pruner.Options o = new Pruner.Options(method, sparsity, floor, layout, values, probeRows, threads);
        try (Model model = Model.load(modelPath)) {
            String tokJson = tokenizerJson(model, modelPath, tokOpt);
            System.err.printf(Locale.ROOT, "pruning %s: method %s, sparsity %.4f, layout %s (probe: %d rows, %d threads), values %s%n",
                    modelPath.getFileName(), method.cliName(), sparsity, layoutName, probeRows, threads, valuesName);
            long t0 = System.nanoTime();
            java.util.Map<String, double[]> acts = null;
            if (calib != null) {
                java.util.List<String> sentences = Corpus.readLines(Path.of(calib));
                System.err.printf(Locale.ROOT, "activation importance from %d calibration sentences...%n", sentences.size());
                acts = dev.compresso.prune.Importance.inputMeanSquares(model.graph(),
                        ModelResolver.tokenizerFor(model, modelPath, tokOpt), sentences);
            }
            Pruner.Result r;
            if (finetune != null) {
                // Gradual: cubic schedule over the first 3/4 of the steps in 10 increments, fine-tuned against the
                // unpruned model (cosine on pooled embeddings + hidden-state MSE), then the one-shot pass at the target.
                WordPieceTokenizer tok = ModelResolver.tokenizerFor(model, modelPath, tokOpt);
                java.util.List<int[]> ids = new java.util.ArrayList<>();
                for (String s : Corpus.readLines(Path.of(finetune))) {
                    ids.add(tok.encode(s, Math.min(128, tok.maxLength())).ids());
                }
                int n = steps > 0 ? steps : Math.max(1, ids.size() / 32);
                dev.compresso.distill.DistillOptions train = dev.compresso.distill.DistillOptions.defaults()
                        .withSteps(Math.max(1, (int) ((long) n * 32 / ids.size()) + 1), n)
                        .withOptimizer((float) lr, 0.05f, false, 0.01f, 1f).withCrops(crops).withTrainEmbeddings(trainEmbeddings).withRun(42, threads, 0f);
                System.err.printf(Locale.ROOT, "gradual pruning: %d fine-tuning steps of 32 sentences from %s%n", n, finetune);
                r = dev.compresso.prune.GradualPruner.run(model.graph(), ids, o, acts, train,
                        new dev.compresso.prune.GradualPruner.Schedule(0.75, 10), line -> System.err.println("  " + line));
            } else {
                r = Pruner.run(model.graph(), o, acts, line -> System.err.println("  " + line));
            }
            for (String line : r.report()) {
                out.println(line);
            }
            ModelFiles.write(r.graph(), tokJson, Map.of("pruning", String.join("\n", r.report())), outPath);
            System.err.printf(Locale.ROOT, "pruned in %.1f s%n", (System.nanoTime() - t0) / 1e9);
            out.printf(Locale.ROOT, "wrote %s (%d bytes, %.3fx of %s)%n", outPath, Files.size(outPath),
                    (double) Files.size(outPath) / Files.size(modelPath), modelPath.getFileName());
        }
    }

    /** The tokenizer to embed: the model's own, the one given or beside it; none (with a warning) if there is none. */
    private static String tokenizerJson(Model model, Path modelPath, String option) throws java.io.IOException {
        try {
            WordPieceTokenizer tok = ModelResolver.tokenizerFor(model, modelPath, option);
            return tok.toJson();
        } catch (java.io.IOException e) {
            if (option != null) {
                throw e;
            }
            System.err.println("compresso prune: no tokenizer found (" + e.getMessage() + "); the output carries none");
            return null;
        }
    }
}
