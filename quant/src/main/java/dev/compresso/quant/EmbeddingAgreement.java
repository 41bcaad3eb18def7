package dev.compresso.quant;

/**
 * How closely a candidate model's sentence embeddings agree with a reference's: per-sentence cosine and
 * nearest-neighbour recall. Pure arithmetic on embeddings, so it is testable without a model.
 *
 * @param cosineMean  mean cosine between matching embeddings
 * @param cosineMin   smallest such cosine
 * @param recallAt10  mean over sentences of |NN10_ref ∩ NN10_cand| / 10 (fewer neighbours when there are
 *                    fewer than 11 sentences)
 */
public record EmbeddingAgreement(double cosineMean, double cosineMin, double recallAt10) {

    /** Neighbours compared by {@link #recallAt10}. */
    public static final int K = 10;

    /**
     * Compares two embedding sets row by row.
     *
     * @param reference  embeddings from the reference model, one row per sentence
     * @param candidate  embeddings from the candidate, same sentences in the same order
     * @return the agreement
     * @throws IllegalArgumentException if the sets are empty or differ in count or width
     * @throws QuantizationException    if an embedding contains NaN or infinity (a broken model)
     */
    public static EmbeddingAgreement of(float[][] reference, float[][] candidate) {
        if (reference.length == 0 || reference.length != candidate.length) {
            throw new IllegalArgumentException("need the same non-zero number of embeddings, got " + reference.length
                    + " and " + candidate.length);
        }
        int n = reference.length;
        double sum = 0, min = Double.MAX_VALUE;
        for (int i = 0; i < n; i++) {
            if (reference[i].length != candidate[i].length) {
                throw new IllegalArgumentException("embedding " + i + " has width " + reference[i].length + " vs "
                        + candidate[i].length);
            }
            Checks.finite("candidate embedding " + i, candidate[i], 0);
            Checks.finite("reference embedding " + i, reference[i], 0);
            double c = cosine(reference[i], candidate[i]);
            sum += c;
            min = Math.min(min, c);
        }
        return new EmbeddingAgreement(sum / n, min, recall(reference, candidate, K));
    }

    /** Cosine similarity (0 when either vector is zero). */
    public static double cosine(float[] a, float[] b) {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += a[i] * (double) b[i];
            na += a[i] * (double) a[i];
            nb += b[i] * (double) b[i];
        }
        return na == 0 || nb == 0 ? 0 : dot / Math.sqrt(na * nb);
    }

    /**
     * Mean over sentences of the overlap between its {@code k} nearest neighbours (cosine, itself excluded)
     * under each model. Ties are broken by index so the result is deterministic.
     */
    static double recall(float[][] ref, float[][] cand, int k) {
        int n = ref.length;
        int kk = Math.min(k, n - 1);
        if (kk <= 0) {
            return 1.0;
        }
        double[][] sr = similarities(ref), sc = similarities(cand);
        double total = 0;
        for (int i = 0; i < n; i++) {
            int[] a = topK(sr[i], i, kk), b = topK(sc[i], i, kk);
            java.util.Set<Integer> set = new java.util.HashSet<>();
            for (int x : a) {
                set.add(x);
            }
            int hit = 0;
            for (int x : b) {
                if (set.contains(x)) {
                    hit++;
                }
            }
            total += (double) hit / kk;
        }
        return total / n;
    }

    private static double[][] similarities(float[][] e) {
        int n = e.length;
        double[][] s = new double[n][n];
        for (int i = 0; i < n; i++) {
            for (int j = i; j < n; j++) {
                s[i][j] = s[j][i] = cosine(e[i], e[j]);
            }
        }
        return s;
    }

    private static int[] topK(double[] sim, int self, int k) {
        Integer[] idx = new Integer[sim.length];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = i;
        }
        java.util.Arrays.sort(idx, (x, y) -> {
            int c = Double.compare(sim[y], sim[x]);
            return c != 0 ? c : Integer.compare(x, y);
        });
        int[] out = new int[k];
        for (int i = 0, j = 0; j < k; i++) {
            if (idx[i] != self) {
                out[j++] = idx[i];
            }
        }
        return out;
    }
}
