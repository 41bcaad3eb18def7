package dev.compresso.samples;

import dev.compresso.engine.Model;
import dev.compresso.engine.format.ModelFiles;
import dev.compresso.engine.kernel.Int8Mode;
import dev.compresso.engine.text.WordPieceTokenizer;
import dev.compresso.engine.graph.Graph;
import dev.compresso.quant.Granularity;
import dev.compresso.quant.QuantAwareTraining;
import dev.compresso.quant.Quantizer;
import dev.compresso.quant.RangeEstimator;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** {@code quantize}: a quantization pass; writes the Compresso model file atomically, per-layer report on stdout. */
final class QuantizeCommand implements Command {

    @Override
    public String name() {
        return "quantize";
    }

    @Override
    public String usage() {
        return "quantize --model IN --mode fp16|int8|int8-static|auto --out OUT [--calib FILE] [--target-cosine X] "
                + "[--per-tensor] [--smoothquant ALPHA] [--estimator minmax|percentile|mse|entropy] "
                + "[--int8-mode auto|w8a8|w8a32] [--budget SECONDS] [--tokenizer T] "
                + "[--qat CORPUS [--qat-steps N] [--qat-batch B] [--qat-lr X] [--seed S] [--threads T]]";
    }

    @Override
    public void run(Args args, PrintStream out) throws Exception {
        String modelSpec = args.require("model");
        String modeName = args.require("mode");
        Path outPath = Path.of(args.require("out"));
        String calib = args.get("calib");
        double target = args.getDouble("target-cosine", 0.995);
        boolean perTensor = args.flag("per-tensor");
        double alpha = args.getDouble("smoothquant", Double.NaN);
        String est = args.get("estimator");
        String int8Mode = args.get("int8-mode", "auto");
        int budget = args.getInt("budget", 120);
        String tokOpt = args.get("tokenizer");
        String qat = args.get("qat");
        QuantAwareTraining.Options qo = QuantAwareTraining.Options.defaults();
        int qatSteps = args.getInt("qat-steps", qo.steps());
        int qatBatch = args.getInt("qat-batch", qo.batchSize());
        double qatLr = args.getDouble("qat-lr", qo.lr());
        long seed = args.getInt("seed", (int) qo.seed());
        int threads = args.getInt("threads", qo.threads());
        args.finish();
        Quantizer.Mode mode;
        RangeEstimator estimator;
        Int8Mode im;
        try {
            mode = Quantizer.Mode.parse(modeName);
            estimator = est == null ? null : RangeEstimator.parse(est);
            im = Int8Mode.valueOf(int8Mode.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        if (!(target > 0 && target <= 1)) {
            throw new UsageException("--target-cosine must be in (0, 1]");
        }
        if (!Double.isNaN(alpha) && !(alpha >= 0 && alpha <= 1)) {
            throw new UsageException("--smoothquant ALPHA must be in [0, 1]");
        }
        boolean needsCalib = mode == Quantizer.Mode.INT8_STATIC || mode == Quantizer.Mode.AUTO || !Double.isNaN(alpha);
        if (needsCalib && calib == null) {
            throw new UsageException("--mode " + modeName + (Double.isNaN(alpha) ? "" : " with --smoothquant")
                    + " needs --calib FILE (one sentence per line)");
        }
        if (qat != null && mode != Quantizer.Mode.INT8_STATIC) {
            throw new UsageException("--qat trains for --mode int8-static only");
        }
        if (qat != null && (qatSteps < 1 || qatBatch < 1 || !(qatLr > 0) || threads < 1)) {
            throw new UsageException("--qat-steps, --qat-batch and --threads must be >= 1 and --qat-lr > 0");
        }
        Path modelPath = ModelResolver.resolveModel(modelSpec);
        WordPieceTokenizer tok = ModelResolver.tokenizerFor(modelPath, tokOpt);
        List<String> sentences = calib == null ? List.of() : Corpus.readLines(Path.of(calib));
        Quantizer.Options o = new Quantizer.Options(mode, perTensor ? Granularity.PER_TENSOR : Granularity.PER_CHANNEL, alpha,
                estimator, target, budget * 1000L, im);
        try (Model model = Model.load(modelPath)) {
            Graph graph;
            List<String> report;
            if (qat != null) {
                List<int[]> ids = Corpus.tokenize(Path.of(qat), tok, 128, false);
                QuantAwareTraining.Result r = QuantAwareTraining.run(model.graph(), tok, sentences, ids,
                        qo.withSteps(qatSteps, qatBatch, (float) qatLr).withEstimator(estimator)
                                .withSmoothing(Double.isNaN(alpha) ? qo.smoothAlpha() : alpha).withRun(seed, threads),
                        line -> (line.startsWith("step ") ? System.err : out).println(line));
                graph = r.graph();
                report = r.report();
            } else {
                Quantizer.Result r = Quantizer.run(model.graph(), o, tok, sentences, out::println);
                graph = r.graph();
                report = r.report();
            }
            ModelFiles.write(graph, tok.toJson(), Map.of("quantization", String.join("\n", report)), outPath);
            out.printf(Locale.ROOT, "wrote %s (%d bytes, %.3fx of %s)%n", outPath, Files.size(outPath),
                    (double) Files.size(outPath) / Files.size(modelPath), modelPath.getFileName());
        }
    }
}
