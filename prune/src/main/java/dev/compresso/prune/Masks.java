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
        List<float[]> scores = new java.util.ArrayList<>();
        for (float[] w : layers) {
            scores.add(abs(w));
        }
        boolean[][] masks = globalMask(scores, sparsity, floor);
        long[] zeroed = new long[layers.size()];
        for (int i = 0; i < masks.length; i++) {
            zeroed[i] = apply(layers.get(i), masks[i]);
        }
        return zeroed;
    }

    /**
     * Marks exactly {@code round(sparsity · total)} units with the smallest scores over all layers (ties at
     * the threshold in layer order), then, in each layer left with fewer than {@code floor · units} unmarked,
     * unmarks its best units up to that floor.
     *
     * @param scores non-negative scores of each layer's units
     * @return for each layer, the pruned units
     * @throws IllegalArgumentException when there are more units than one array can rank
     */
    static boolean[][] globalMask(List<float[]> scores, double sparsity, double floor) {
        long total = 0;
        for (float[] w : scores) {
            total += w.length;
        }
        if (total > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("a global threshold over " + total + " units is not supported; prune per layer");
        }
        boolean[][] masks = new boolean[scores.size()][];
        long count = Math.min(total, Math.round(sparsity * total));
        if (count <= 0) {
            for (int i = 0; i < masks.length; i++) {
                masks[i] = new boolean[scores.get(i).length];
            }
            return masks;
        }
        // Threshold t: the count-th smallest score overall; ties at t are pruned in layer order.
        float[] all = new float[(int) total];
        int p = 0;
        for (float[] w : scores) {
            System.arraycopy(w, 0, all, p, w.length);
            p += w.length;
        }
        Arrays.sort(all);
        float t = all[(int) count - 1];
        long below = 0;
        for (float a : all) {
            if (a < t) {
                below++;
            } else {
                break;
            }
        }
        all = null;
        long ties = count - below;
        for (int li = 0; li < scores.size(); li++) {
            float[] w = scores.get(li);
            boolean[] pr = new boolean[w.length];
            for (int i = 0; i < w.length; i++) {
                if (w[i] < t) {
                    pr[i] = true;
                } else if (w[i] == t && ties > 0) {
                    pr[i] = true;
                    ties--;
                }
            }
            // The floor: never leave a layer with fewer than floor·units units (its best ones).
            long keepMin = (long) Math.ceil(floor * w.length);
            long kept = 0;
            for (boolean b : pr) {
                kept += b ? 0 : 1;
            }
            if (kept < keepMin) {
                pr = lowest(w, w.length - keepMin);
            }
            masks[li] = pr;
        }
        return masks;
    }

    /** The 4x1 block scores (sum of squares) of {@code W[n][k]}, block row major. */
    static float[] blockScores(float[] w, int n, int k) {
        return blockScores(w, n, k, BsrMatrix.BLOCK_ROWS);
    }

    /** The {@code br}x1 block scores (sum of squares) of {@code W[n][k]}, block row major. */
    static float[] blockScores(float[] w, int n, int k, int br) {
        int nb = (n + br - 1) / br;
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
        return score;
    }

    /** Zeros the marked 4x1 blocks of {@code W[n][k]}; returns how many weights were non-zero before. */
    static long zeroBlocks(float[] w, int n, int k, boolean[] pruned) {
        return zeroBlocks(w, n, k, pruned, BsrMatrix.BLOCK_ROWS);
    }

    /** Zeros the marked {@code br}x1 blocks of {@code W[n][k]}; returns how many weights were non-zero before. */
    static long zeroBlocks(float[] w, int n, int k, boolean[] pruned, int br) {
        long z = 0;
        for (int b = 0, nb = (n + br - 1) / br; b < nb; b++) {
            for (int c = 0; c < k; c++) {
                if (pruned[b * k + c]) {
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
     * Block pruning in the BSR kernel's block shape ({@value BsrMatrix#BLOCK_ROWS} consecutive output channels
     * at one input feature): zeros exactly {@code round(sparsity · blocks)} blocks of the smallest L2 norm.
     * When {@code N} is not a multiple of the block height the last block row has shorter blocks.
     *
     * @return the number of weights zeroed
     */
    static long block(float[] w, int n, int k, double sparsity) {
        return block(w, n, k, sparsity, BsrMatrix.BLOCK_ROWS);
    }

    /** {@link #block(float[], int, int, double)} with blocks of {@code br} output channels (e.g. 16, the bsr16 kernel's). */
    static long block(float[] w, int n, int k, double sparsity, int br) {
        float[] score = blockScores(w, n, k, br);
        return zeroBlocks(w, n, k, lowest(score, Math.round(sparsity * score.length)), br);
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

    /**
     * A copy of {@code W[n][k]} with column {@code j} multiplied by {@code sqrt(meanSquares[j])}, floored at a
     * tiny positive factor so that a non-zero weight never scores exactly zero (which the masks would read as
     * already pruned).
     */
    static float[] scaleColumns(float[] w, int n, int k, double[] meanSquares) {
        float[] f = new float[k];
        for (int j = 0; j < k; j++) {
            double r = Math.sqrt(Math.max(0, meanSquares[j]));
            f[j] = (float) Math.max(r, 1e-12);
        }
        float[] out = new float[w.length];
        for (int r = 0; r < n; r++) {
            for (int j = 0, i = r * k; j < k; j++, i++) {
                float v = w[i] * f[j];
                out[i] = v == 0f && w[i] != 0f ? Math.copySign(Float.MIN_VALUE, w[i]) : v;
            }
        }
        return out;
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
