package dev.compresso.quant;

import dev.compresso.engine.Model;
import dev.compresso.engine.ModelException;
import dev.compresso.engine.Session;
import dev.compresso.engine.Tensor;
import dev.compresso.engine.text.SentenceEmbedder;
import dev.compresso.engine.text.WordPieceTokenizer;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Fidelity of a candidate model to a reference: sentence-embedding agreement ({@link EmbeddingAgreement}),
 * file sizes and median latencies measured side by side.
 *
 * @param agreement          cosine and recall@10 of the candidate's embeddings against the reference's
 * @param sizeBytes          candidate file size
 * @param referenceSizeBytes reference file size
 * @param medianMs           candidate median latency of one run on the latency inputs
 * @param referenceMedianMs  reference median latency
 */
public record Fidelity(EmbeddingAgreement agreement, long sizeBytes, long referenceSizeBytes, double medianMs,
        double referenceMedianMs) {

    /**
     * Embeds sentences with a model.
     *
     * @param model     the model
     * @param tokenizer its tokenizer
     * @param sentences the sentences
     * @return unit-length embeddings, one per sentence
     * @throws ModelException if the model fails
     */
    public static float[][] embed(Model model, WordPieceTokenizer tokenizer, List<String> sentences) throws ModelException {
        try (SentenceEmbedder e = new SentenceEmbedder(model, tokenizer)) {
            return e.embed(sentences);
        }
    }

    /**
     * Median wall time of {@code runs} model runs after {@code warmup} runs.
     *
     * @param model  the model
     * @param inputs its inputs (not closed)
     * @param warmup runs discarded
     * @param runs   runs measured, at least 1
     * @return median milliseconds
     * @throws ModelException if a run fails
     */
    public static double medianMillis(Model model, Map<String, Tensor> inputs, int warmup, int runs) throws ModelException {
        if (runs < 1) {
            throw new IllegalArgumentException("runs must be >= 1");
        }
        double[] ms = new double[runs];
        try (Session s = model.newSession()) {
            for (int i = 0; i < warmup; i++) {
                s.run(inputs).values().forEach(Tensor::close);
            }
            for (int i = 0; i < runs; i++) {
                long t0 = System.nanoTime();
                Map<String, Tensor> r = s.run(inputs);
                ms[i] = (System.nanoTime() - t0) / 1e6;
                r.values().forEach(Tensor::close);
            }
        }
        Arrays.sort(ms);
        return runs % 2 == 1 ? ms[runs / 2] : (ms[runs / 2 - 1] + ms[runs / 2]) / 2;
    }
}
