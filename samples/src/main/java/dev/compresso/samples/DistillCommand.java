package dev.compresso.samples;

import dev.compresso.distill.DistillOptions;
import dev.compresso.distill.Distiller;
import dev.compresso.engine.Model;
import dev.compresso.engine.format.ModelFiles;
import dev.compresso.engine.graph.Graph;
import dev.compresso.engine.kernel.KernelPool;
import dev.compresso.engine.text.WordPieceTokenizer;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code distill}: trains a student that keeps some of the teacher's layers to match the teacher on the
 * sentences of a corpus; writes the student as a Compresso model file (atomically), progress on stderr.
 */
final class DistillCommand implements Command {

    @Override
    public String name() {
        return "distill";
    }

    @Override
    public String usage() {
        return "distill --teacher IN --corpus FILE --out OUT [--layers 0,2,4] [--ffn WIDTH] [--epochs E] [--steps N] "
                + "[--loss embedding|hidden|attention] [--batch B] [--lr X] [--warmup F] [--schedule linear|cosine] "
                + "[--max-length L] [--no-truncate] [--dropout P] [--similarity W] [--crops|--no-crops] [--train-embeddings] [--seed S] [--threads T] [--checkpoint FILE] [--checkpoint-every N] "
                + "[--resume CKPT] [--eval FILE] [--snapshot-every N] [--tokenizer T] [--labels FILE [--temperature T] [--alpha A] "
                + "[--hard-baseline] [--limit N]]";
    }

    @Override
    public void run(Args args, PrintStream out) throws Exception {
        String teacherSpec = args.require("teacher");
        Path corpus = Path.of(args.require("corpus"));
        Path outPath = Path.of(args.require("out"));
        String layersOpt = args.get("layers", "0,2,4");
        int epochs = args.getInt("epochs", 1);
        int steps = args.getInt("steps", 0);
        String loss = args.get("loss", "hidden");
        int batch = args.getInt("batch", 32);
        double lr = args.getDouble("lr", DistillOptions.defaults().lr());
        double warmup = args.getDouble("warmup", 0.05);
        String schedule = args.get("schedule", "linear");
        int maxLength = args.getInt("max-length", 128);
        double dropout = args.getDouble("dropout", 0);
        double similarity = args.getDouble("similarity", DistillOptions.defaults().similarityWeight());
        boolean crops = args.flag("crops") || (DistillOptions.defaults().crops() && !args.flag("no-crops"));
        int seed = args.getInt("seed", 42);
        int threads = args.getInt("threads", KernelPool.cores());
        String ckpt = args.get("checkpoint");
        int every = args.getInt("checkpoint-every", 200);
        String resume = args.get("resume");
        String eval = args.get("eval");
        int snapshotEvery = args.getInt("snapshot-every", 0);
        boolean noTruncate = args.flag("no-truncate");
        String tokOpt = args.get("tokenizer");
        String labelsOpt = args.get("labels");
        double temperature = args.getDouble("temperature", 4);
        double alpha = args.getDouble("alpha", 0.7);
        boolean hardBaseline = args.flag("hard-baseline");
        int limit = args.getInt("limit", 0);
        int ffn = args.getInt("ffn", 0);
        boolean trainEmbeddings = args.flag("train-embeddings");
        args.finish();
        if (ffn < 0) {
            throw new UsageException("--ffn takes the student's feed-forward width (neurons per layer), not " + ffn);
        }
        if (ffn > 0 && labelsOpt != null) {
            throw new UsageException("--ffn applies to embedding students, not to classifiers (--labels)");
        }
        int[] layers;
        try {
            layers = java.util.Arrays.stream(layersOpt.split(",")).map(String::strip).mapToInt(Integer::parseInt).toArray();
        } catch (NumberFormatException e) {
            throw new UsageException("--layers takes comma-separated layer indices, e.g. 0,2,4; got '" + layersOpt + "'");
        }
        float cos = 1f, hidden, attention;
        switch (loss) {
            case "embedding" -> {
                hidden = 0f;
                attention = 0f;
            }
            case "hidden" -> {
                hidden = 1f;
                attention = 0f;
            }
            case "attention" -> {
                hidden = 1f;
                attention = 1f;
            }
            default -> throw new UsageException("--loss must be embedding, hidden or attention, not '" + loss + "'");
        }
        if (!schedule.equals("linear") && !schedule.equals("cosine")) {
            throw new UsageException("--schedule must be linear or cosine");
        }
        if (epochs < 1 || steps < 0 || batch < 1 || threads < 1 || every < 1 || maxLength < 2) {
            throw new UsageException("--epochs, --batch, --threads, --checkpoint-every must be >= 1, --steps >= 0, "
                    + "--max-length >= 2");
        }
        Path ckptPath = ckpt == null ? Path.of(outPath + ".ckpt") : ckpt.equals("none") ? null : Path.of(ckpt);
        DistillOptions o;
        try {
            o = DistillOptions.defaults().withLayers(layers).withSteps(epochs, steps).withBatch(batch, maxLength)
                    .withOptimizer((float) lr, (float) warmup, schedule.equals("cosine"), 0.01f, 1.0f)
                    .withLosses(cos, 0f, hidden, attention).withSimilarity((float) similarity).withCrops(crops).withTrainEmbeddings(trainEmbeddings).withRun(seed, threads, (float) dropout)
                    .withCheckpoint(ckptPath, every, resume == null ? null : Path.of(resume));
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        Path teacherPath = ModelResolver.resolveModel(teacherSpec);
        WordPieceTokenizer tok = ModelResolver.tokenizerFor(teacherPath, tokOpt);
        if (labelsOpt != null) {
            if (!(temperature > 0) || !(alpha >= 0 && alpha <= 1) || limit < 0) {
                throw new UsageException("--temperature must be > 0, --alpha in [0, 1], --limit >= 0");
            }
            ClassifierRun.run(teacherPath, tok, Path.of(labelsOpt), corpus, eval == null ? null : Path.of(eval), outPath,
                    layers, epochs, batch, (float) lr, (float) temperature, (float) alpha, hardBaseline, limit, maxLength,
                    seed, threads, out);
            return;
        }
        if (maxLength > tok.maxLength()) {
            throw new UsageException("--max-length " + maxLength + " exceeds the tokenizer's limit of " + tok.maxLength()
                    + " tokens for " + teacherPath.getFileName());
        }
        List<int[]> ids = Corpus.tokenize(corpus, tok, maxLength, noTruncate);
        PrintStream err = System.err;
        err.printf(Locale.ROOT, "distill: %d sentences from %s, student layers %s, loss %s, %d threads%n", ids.size(),
                corpus, layersOpt, loss, threads);
        try (Model teacher = Model.load(teacherPath)) {
            List<String> evalLines = eval == null ? null : Corpus.readLines(Path.of(eval));
            Distiller.StepListener snapshots = new Distiller.StepListener() {
                @Override
                public void stepDone(long step, double l) {}

                @Override
                public void stepDone(long step, double l, java.util.function.Supplier<Graph> student) throws java.io.IOException {
                    if (snapshotEvery > 0 && step % snapshotEvery == 0) {
                        // A student every N steps (and its fidelity with --eval): the curve against sentences seen.
                        Path snap = Path.of(outPath + ".step" + step);
                        ModelFiles.write(student.get(), tok.toJson(), Map.of(), snap);
                        if (evalLines != null) {
                            try {
                                err.print("snapshot " + snap + " after " + step * batch + " sentences: ");
                                EvalCommand.printAgreement(teacher, snap, tok, evalLines, err);
                            } catch (Exception e) {
                                throw new java.io.IOException(snap + ": " + e.getMessage(), e);
                            }
                        }
                    }
                }
            };
            Graph init = ffn > 0 ? narrowFfn(teacher.graph(), layers, ffn, tok, corpus, err) : null;
            Distiller.Result r = Distiller.distill(teacher.graph(), init, ids, o, err::println, snapshots, (s, t, e) -> {});
            Map<String, String> notes = new LinkedHashMap<>();
            notes.put("distillation", "teacher " + teacherPath.getFileName() + ", layers " + layersOpt
                    + (ffn > 0 ? ", feed-forward width " + ffn : "") + ", loss " + loss
                    + ", " + r.steps() + " steps, " + r.sentences() + " sentences, corpus " + corpus.getFileName());
            ModelFiles.write(r.student(), tok.toJson(), notes, outPath);
            out.printf(Locale.ROOT, "wrote %s (%d bytes, %.3fx of %s): %d steps, %d sentences, %d tokens in %.1f s (%.0f tokens/s; %.0f after the first 3 steps), last loss %.5f%n",
                    outPath, Files.size(outPath), (double) Files.size(outPath) / Files.size(teacherPath),
                    teacherPath.getFileName(), r.steps(), r.sentences(), r.tokens(), r.seconds(), r.tokens() / r.seconds(),
                    r.steadyTokensPerSecond(), r.lastLoss());
            if (eval != null) {
                EvalCommand.printAgreement(teacher, outPath, tok, evalLines, out);
            }
        }
    }

    /** Sentences of the corpus whose activations rank the FFN neurons of a narrower student. */
    static final int IMPORTANCE_SENTENCES = 256;

    /**
     * The initial student of a narrower feed-forward width: the teacher's kept layers, then in every layer the
     * {@code width} FFN neurons of highest activation importance (prune's structured FFN pass, ranked by
     * {@code sqrt(E[h_j²])·‖W_down[:,j]‖} over the corpus's first {@value #IMPORTANCE_SENTENCES} sentences).
     */
    static Graph narrowFfn(Graph teacher, int[] layers, int width, WordPieceTokenizer tok, Path corpus, PrintStream err)
            throws Exception {
        dev.compresso.distill.BertGraph bg = dev.compresso.distill.BertGraph.of(teacher);
        int full = bg.config().ffn();
        if (width >= full) {
            throw new UsageException("--ffn " + width + " is not narrower than the teacher's feed-forward width " + full);
        }
        Graph kept;
        try {
            kept = bg.student(layers, bg.weights().select(layers));
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        List<String> lines = Corpus.readLines(corpus);
        List<String> sample = lines.subList(0, Math.min(IMPORTANCE_SENTENCES, lines.size()));
        err.printf(Locale.ROOT, "distill: student feed-forward width %d of %d, neurons ranked by activations over %d sentences%n",
                width, full, sample.size());
        Map<String, double[]> acts = dev.compresso.prune.Importance.inputMeanSquares(kept, tok, sample);
        dev.compresso.prune.Pruner.Options po = dev.compresso.prune.Pruner.Options.of(dev.compresso.prune.Pruner.Method.FFN,
                (double) (full - width) / full);
        Graph narrow = dev.compresso.prune.Pruner.run(kept, po, acts, line -> {}).graph();
        int got = dev.compresso.distill.BertGraph.of(narrow).config().ffn();
        if (got != width) {
            throw new IllegalStateException("structured pass left " + got + " neurons, asked for " + width);
        }
        return narrow;
    }
}
