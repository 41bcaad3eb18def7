package dev.compresso.samples;

import dev.compresso.engine.Model;
import dev.compresso.engine.Tensor;
import dev.compresso.engine.text.WordPieceTokenizer;
import dev.compresso.quant.EmbeddingAgreement;
import dev.compresso.quant.Fidelity;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** {@code eval}: fidelity of a model to a reference on input sentences, plus sizes and latencies. */
final class EvalCommand implements Command {

    @Override
    public String name() {
        return "eval";
    }

    @Override
    public String usage() {
        return "eval --model MODEL --reference REF --input FILE [--json] [--runs R] [--tokenizer T]";
    }

    @Override
    public void run(Args args, PrintStream out) throws Exception {
        String m = args.require("model"), ref = args.require("reference"), input = args.require("input");
        boolean json = args.flag("json");
        int runs = args.getInt("runs", 10);
        String tokOpt = args.get("tokenizer");
        args.finish();
        if (runs < 1) {
            throw new UsageException("--runs must be >= 1");
        }
        Path mp = ModelResolver.resolveModel(m), rp = ModelResolver.resolveModel(ref);
        List<String> sentences = Corpus.readLines(Path.of(input));
        WordPieceTokenizer refTok = ModelResolver.tokenizerFor(rp, tokOpt);
        WordPieceTokenizer tok = ModelResolver.tokenizerFor(mp, tokOpt);
        Fidelity f;
        try (Model model = Model.load(mp); Model reference = Model.load(rp)) {
            float[][] er = Fidelity.embed(reference, refTok, sentences);
            float[][] ec = Fidelity.embed(model, tok, sentences);
            Map<String, Tensor> lat = BenchCommand.syntheticInputs(reference, 1, 128);
            // Interleave the two latency measurements so machine noise hits both alike.
            double r1 = Fidelity.medianMillis(reference, lat, 3, runs), c1 = Fidelity.medianMillis(model, lat, 3, runs);
            double r2 = Fidelity.medianMillis(reference, lat, 0, runs), c2 = Fidelity.medianMillis(model, lat, 0, runs);
            f = new Fidelity(EmbeddingAgreement.of(er, ec), Files.size(mp), Files.size(rp), Math.min(c1, c2), Math.min(r1, r2));
        }
        if (json) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("cosine_mean", f.agreement().cosineMean());
            o.put("cosine_min", f.agreement().cosineMin());
            o.put("recall_at_10", f.agreement().recallAt10());
            o.put("size_bytes", f.sizeBytes());
            o.put("reference_size_bytes", f.referenceSizeBytes());
            o.put("median_ms", f.medianMs());
            o.put("reference_median_ms", f.referenceMedianMs());
            out.println(dev.compresso.engine.json.Json.write(o));
        } else {
            out.printf(Locale.ROOT, "sentences        %d%n", sentences.size());
            out.printf(Locale.ROOT, "cosine mean/min  %.6f / %.6f%n", f.agreement().cosineMean(), f.agreement().cosineMin());
            out.printf(Locale.ROOT, "recall@10        %.4f%n", f.agreement().recallAt10());
            out.printf(Locale.ROOT, "size             %d bytes (%.3fx of reference %d)%n", f.sizeBytes(),
                    (double) f.sizeBytes() / f.referenceSizeBytes(), f.referenceSizeBytes());
            out.printf(Locale.ROOT, "median latency   %.2f ms (reference %.2f ms), batch 1 x 128 tokens%n", f.medianMs(),
                    f.referenceMedianMs());
        }
    }

    /** Fidelity of a saved model to an already loaded reference on sentences: one line, for other commands. */
    static void printAgreement(Model reference, Path candidate, WordPieceTokenizer tok, List<String> sentences,
            PrintStream out) throws Exception {
        try (Model model = Model.load(candidate)) {
            EmbeddingAgreement a = EmbeddingAgreement.of(Fidelity.embed(reference, tok, sentences),
                    Fidelity.embed(model, tok, sentences));
            out.printf(Locale.ROOT, "fidelity on %d held-out sentences: cosine mean %.4f min %.4f recall@10 %.4f%n",
                    sentences.size(), a.cosineMean(), a.cosineMin(), a.recallAt10());
        }
    }
}
