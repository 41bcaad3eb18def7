package dev.compresso.prune;

import dev.compresso.engine.weights.BsrMatrix;
import java.util.Arrays;
import java.util.List;

/**
 * Which weights to zero: exact-count selection of the lowest-scoring units (single weights, 4x1 blocks,
 * neurons, heads) and the unstructured, block and N:M masks built on it. Masks are applied in place to
 * row-major dense {@code W[n][k]}; pruned weights become exactly {@code +0f}.
 */
final class Masks {
    private Masks() {}

    /**
     * Marks exactly {@code count} units with the lowest scores (ties broken by lower index first, so the
     * result is deterministic).
     *
     * @param score one score per unit, finite
     * @param count how many to prune, clamped to {@code [0, score.length]}
     * @return {@code true} for each pruned unit
     */
    static boolean[] lowest(float[] score, long count) {
        int n = score.length;
        boolean[] pruned = new boolean[n];
        int c = (int) Math.max(0, Math.min(n, count));
        if (c == 0) {
            return pruned;
        }
        if (c == n) {
            Arrays.fill(pruned, true);
            return pruned;
        }
        float t = kth(score, c);
        int below = 0;
        for (float s : score) {
            below += s < t ? 1 : 0;
        }
        int ties = c - below;
        for (int i = 0; i < n; i++) {
            if (score[i] < t) {
                pruned[i] = true;
            } else if (score[i] == t && ties > 0) {
                pruned[i] = true;
                ties--;
            }
        }
        return pruned;
    }

    /** The {@code c}-th smallest value ({@code 1 <= c <= v.length}). */
    static float kth(float[] v, long c) {
        float[] s = v.clone();
        Arrays.sort(s);
        return s[(int) (c - 1)];
    }

    /** Zeros exactly {@code round(sparsity · n·k)} smallest-magnitude weights of one layer; returns how many. */
    static long magnitude(float[] w, double sparsity) {
        float[] score = abs(w);
        boolean[] p = lowest(score, Math.round(sparsity * w.length));
        return apply(w, p);
    }

    /**
     * One magnitude threshold across all layers (torch's {@code global_unstructured}): zeros exactly
     * {@code round(sparsity · total)} weights with the smallest magnitudes over all layers, then restores, in
     * each layer left with fewer than {@code floor · size} weights, its largest weights up to that floor.
     *
     * @param layers the layers' dense weights (edited in place)
     * @return for each layer, the number of weights zeroed
     */
    static long[] global(List<float[]> layers, double sparsity, double floor) {
        long total = 0;
        for (float[] w : layers) {
            total += w.length;
        }
        long count = Math.round(sparsity * total);
        long[] zeroed = new long[layers.size()];
        if (count <= 0 || total == 0) {
            return zeroed;
        }
        // Threshold t: the count-th smallest magnitude overall; ties at t are pruned in layer order.
        float[] all = new float[(int) total];
        int p = 0;
        for (float[] w : layers) {
            for (float x : w) {
                all[p++] = Math.abs(x);
            }
        }
        Arrays.sort(all);
        float t = all[(int) Math.min(total, count) - 1];
        long below = 0;
        for (float a : all) {
            if (a < t) {
                below++;
            } else {
                break;
            }
        }
        all = null;
        long ties = Math.min(total, count) - below;
        for (int li = 0; li < layers.size(); li++) {
            float[] w = layers.get(li);
            boolean[] pr = new boolean[w.length];
            for (int i = 0; i < w.length; i++) {
                float a = Math.abs(w[i]);
                if (a < t) {
                    pr[i] = true;
                } else if (a == t && ties > 0) {
                    pr[i] = true;
                    ties--;
                }
            }
            // The floor: never leave a layer with fewer than floor·size weights (its largest ones).
            long keepMin = (long) Math.ceil(floor * w.length);
            long kept = 0;
            for (boolean b : pr) {
                kept += b ? 0 : 1;
            }
            if (kept < keepMin) {
                pr = lowest(abs(w), w.length - keepMin);
            }
            zeroed[li] = apply(w, pr);
        }
        return zeroed;
    }

    /**
     * Block pruning in the BSR kernel's block shape ({@value BsrMatrix#BLOCK_ROWS} consecutive output channels
     * at one input feature): zeros exactly {@code round(sparsity · blocks)} blocks of the smallest L2 norm.
     * When {@code N} is not a multiple of the block height the last block row has shorter blocks.
     *
     * @return the number of weights zeroed
     */
    static long block(float[] w, int n, int k, double sparsity) {
        int br = BsrMatrix.BLOCK_ROWS;
        int nb = BsrMatrix.blockRows(n);
        float[] score = new float[nb * k];
        for (int b = 0; b < nb; b++) {
            for (int c = 0; c < k; c++) {
                float s = 0;
                for (int r = b * br; r < Math.min(n, (b + 1) * br); r++) {
                    s += w[r * k + c] * w[r * k + c];
                }
                score[b * k + c] = s;
            }
        }
        boolean[] p = lowest(score, Math.round(sparsity * score.length));
        long z = 0;
        for (int b = 0; b < nb; b++) {
            for (int c = 0; c < k; c++) {
                if (p[b * k + c]) {
                    for (int r = b * br; r < Math.min(n, (b + 1) * br); r++) {
                        z += w[r * k + c] != 0f ? 1 : 0;
                        w[r * k + c] = 0f;
                    }
                }
            }
        }
        return z;
    }

    /**
     * N:M pruning along {@code K}: in every group of {@code m} consecutive weights of a row, keeps the
     * {@code keep} largest magnitudes (ties: the earlier one) and zeros the rest. A last, shorter group keeps at
     * most {@code keep} weights.
     *
     * @return the number of weights zeroed
     */
    static long nm(float[] w, int n, int k, int keep, int m) {
        long z = 0;
        float[] g = new float[m];
        for (int r = 0; r < n; r++) {
            for (int c0 = 0; c0 < k; c0 += m) {
                int len = Math.min(m, k - c0);
                if (len <= keep) {
                    continue;
                }
                float[] s = len == m ? g : new float[len];
                for (int j = 0; j < len; j++) {
                    s[j] = Math.abs(w[r * k + c0 + j]);
                }
                // Prune the len-keep smallest of the group.
                boolean[] p = lowest(s, len - keep);
                for (int j = 0; j < len; j++) {
                    if (p[j]) {
                        z += w[r * k + c0 + j] != 0f ? 1 : 0;
                        w[r * k + c0 + j] = 0f;
                    }
                }
            }
        }
        return z;
    }

    static float[] abs(float[] w) {
        float[] a = new float[w.length];
        for (int i = 0; i < w.length; i++) {
            a[i] = Math.abs(w[i]);
        }
        return a;
    }

    /** Zeros the marked weights; returns how many were non-zero before. */
    static long apply(float[] w, boolean[] pruned) {
        long z = 0;
        for (int i = 0; i < w.length; i++) {
            if (pruned[i]) {
                z += w[i] != 0f ? 1 : 0;
                w[i] = 0f;
            }
        }
        return z;
    }

    /** Number of exactly-zero weights. */
    static long zeros(float[] w) {
        long z = 0;
        for (float x : w) {
            z += x == 0f ? 1 : 0;
        }
        return z;
    }
}
