package dev.compresso.prune;

import dev.compresso.engine.ActivationObserver;
import dev.compresso.engine.Model;
import dev.compresso.engine.ModelException;
import dev.compresso.engine.SessionOptions;
import dev.compresso.engine.graph.Graph;
import dev.compresso.engine.text.SentenceEmbedder;
import dev.compresso.engine.text.WordPieceTokenizer;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Activation statistics for activation-based importance: the mean square of every input feature of every
 * linear layer over a calibration set. With them, a structured unit's score is the expected size of what it
 * adds to the next layer's output, {@code sqrt(E[h_j²]) · ‖W_down[:, j]‖}, instead of a pure weight norm.
 */
public final class Importance {
    private Importance() {}

    /**
     * Runs the model on calibration sentences and collects, per linear layer, {@code E[x_j²]} of its input.
     *
     * @param graph     the graph to run (not modified)
     * @param tokenizer its tokenizer
     * @param sentences calibration sentences, at least one
     * @return mean squares of each linear layer's input features, by layer name
     * @throws ModelException           when running the model fails
     * @throws IllegalArgumentException when there are no sentences
     */
    public static Map<String, double[]> inputMeanSquares(Graph graph, WordPieceTokenizer tokenizer, List<String> sentences)
            throws ModelException {
        if (sentences.isEmpty()) {
            throw new IllegalArgumentException("activation importance needs at least one calibration sentence");
        }
        Map<String, double[]> sums = new HashMap<>();
        Map<String, long[]> rows = new HashMap<>();
        ActivationObserver obs = (node, input, r, cols) -> {
            synchronized (sums) {
                accumulate(sums, rows, node, input, r, cols);
            }
        };
        try (SentenceEmbedder e = new SentenceEmbedder(Model.of(graph), tokenizer, new SessionOptions().observer(obs),
                SentenceEmbedder.DEFAULT_BATCH_SIZE)) {
            e.embed(sentences);
        }
        Map<String, double[]> out = new HashMap<>();
        for (Map.Entry<String, double[]> en : sums.entrySet()) {
            long n = Math.max(1, rows.get(en.getKey())[0]);
            double[] m = en.getValue().clone();
            for (int j = 0; j < m.length; j++) {
                m[j] /= n;
            }
            out.put(en.getKey(), m);
        }
        return out;
    }

    private static void accumulate(Map<String, double[]> sums, Map<String, long[]> rows, String node, MemorySegment input,
            int r, int cols) {
        double[] s = sums.computeIfAbsent(node, k -> new double[cols]);
        if (s.length != cols) {
            return;
        }
        for (int i = 0; i < r; i++) {
            long base = (long) i * cols;
            for (int j = 0; j < cols; j++) {
                float v = input.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, base + j);
                s[j] += (double) v * v;
            }
        }
        rows.computeIfAbsent(node, k -> new long[1])[0] += r;
    }
}
