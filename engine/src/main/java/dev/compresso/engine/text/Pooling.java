package dev.compresso.engine.text;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The model-independent half of {@code SentenceEmbedder}: length-sorted batching that keeps the caller's
 * order, and masked mean pooling with L2 normalisation (what sentence-transformers does for MiniLM).
 */
final class Pooling {
    private Pooling() {}

    /** Runs the model on one padded batch and returns its output. */
    @FunctionalInterface
    interface BatchRunner<E extends Exception> {
        /**
         * @param batch the padded batch
         * @return the token embeddings {@code [batch, length, hidden]} (or, for a model that pools itself,
         *         sentence embeddings {@code [batch, hidden]})
         */
        Output run(BatchEncoding batch) throws E;
    }

    /** A float output tensor's data and shape. */
    record Output(float[] data, long[] shape) {}

    /**
     * Encodes, batches (sorted by token count, so each batch pads little), runs and pools.
     *
     * @return one unit-length embedding per sentence, in the order given
     */
    static <E extends Exception> float[][] embed(List<String> sentences, WordPieceTokenizer tokenizer,
                                                 int batchSize, int maxLength, BatchRunner<E> runner) throws E {
        int n = sentences.size();
        List<Encoding> encs = new ArrayList<>(n);
        for (String s : sentences) {
            encs.add(tokenizer.encode(s, maxLength));
        }
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        // Stable sort: equal lengths keep input order, so results do not depend on the sort's whims.
        Arrays.sort(order, (a, b) -> Integer.compare(encs.get(a).length(), encs.get(b).length()));
        float[][] out = new float[n][];
        for (int start = 0; start < n; start += batchSize) {
            int end = Math.min(n, start + batchSize);
            List<Encoding> chunk = new ArrayList<>(end - start);
            for (int i = start; i < end; i++) {
                chunk.add(encs.get(order[i]));
            }
            BatchEncoding batch = tokenizer.pad(chunk);
            float[][] pooled = pool(runner.run(batch), batch);
            for (int i = start; i < end; i++) {
                out[order[i]] = pooled[i - start];
            }
        }
        return out;
    }

    /**
     * Mean of the token vectors where the attention mask is 1, then scaled to unit length.
     *
     * @throws IllegalArgumentException if the output's shape does not fit the batch
     */
    static float[][] pool(Output output, BatchEncoding batch) {
        long[] shape = output.shape();
        float[] h = output.data();
        int b = batch.batchSize();
        if (shape.length == 2 && shape[0] == b) {
            // Already one vector per sentence: only normalise.
            int dim = Math.toIntExact(shape[1]);
            checkSize(h, (long) b * dim, shape);
            float[][] out = new float[b][dim];
            for (int r = 0; r < b; r++) {
                double[] acc = new double[dim];
                for (int d = 0; d < dim; d++) {
                    acc[d] = h[r * dim + d];
                }
                out[r] = normalise(acc);
            }
            return out;
        }
        if (shape.length != 3 || shape[0] != b || shape[1] != batch.length()) {
            throw new IllegalArgumentException("model output shape " + Arrays.toString(shape)
                    + " does not match the batch [" + b + ", " + batch.length() + ", hidden]");
        }
        int seq = batch.length();
        int dim = Math.toIntExact(shape[2]);
        checkSize(h, (long) b * seq * dim, shape);
        long[] mask = batch.attentionMask();
        float[][] out = new float[b][];
        for (int r = 0; r < b; r++) {
            // Accumulate in double: 512 tokens of float sums would otherwise lose the last bits.
            double[] acc = new double[dim];
            long count = 0;
            for (int t = 0; t < seq; t++) {
                if (mask[r * seq + t] == 0) {
                    continue;
                }
                count++;
                int off = (r * seq + t) * dim;
                for (int d = 0; d < dim; d++) {
                    acc[d] += h[off + d];
                }
            }
            // sentence-transformers divides by max(count, 1e-9); count is never 0 here ([CLS] and [SEP]),
            // but guard anyway so an all-padding row gives zeros, not NaN.
            double inv = 1.0 / Math.max(count, 1);
            for (int d = 0; d < dim; d++) {
                acc[d] *= inv;
            }
            out[r] = normalise(acc);
        }
        return out;
    }

    private static void checkSize(float[] h, long expected, long[] shape) {
        if (h.length != expected) {
            throw new IllegalArgumentException("model output holds " + h.length + " values, shape "
                    + Arrays.toString(shape) + " needs " + expected);
        }
    }

    /** Scales to unit length; a zero vector stays zero (sentence-transformers clamps the norm at 1e-12). */
    static float[] normalise(double[] v) {
        double ss = 0;
        for (double x : v) {
            ss += x * x;
        }
        double inv = 1.0 / Math.max(Math.sqrt(ss), 1e-12);
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = (float) (v[i] * inv);
        }
        return out;
    }
}
