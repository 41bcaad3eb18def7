package dev.compresso.distill.train;

import dev.compresso.engine.kernel.Backward;

/**
 * Token ids of several sequences packed back to back without padding: sequence {@code b} owns rows
 * {@code [offset(b), offset(b) + length(b))}. Positions restart at 0 in every sequence.
 *
 * @param ids     token ids, one per row
 * @param types   token-type ids, one per row
 * @param packing where each sequence starts and how long it is
 */
public record TokenBatch(int[] ids, int[] types, Backward.Packing packing) {
    public TokenBatch {
        if (ids.length != packing.rows() || types.length != ids.length) {
            throw new IllegalArgumentException(ids.length + " ids and " + types.length + " types for "
                    + packing.rows() + " rows");
        }
    }

    /** Packs sequences given as id arrays (type ids all 0). */
    public static TokenBatch of(java.util.List<int[]> sequences) {
        int n = sequences.size(), rows = 0;
        int[] off = new int[n], len = new int[n];
        for (int b = 0; b < n; b++) {
            off[b] = rows;
            len[b] = sequences.get(b).length;
            rows += len[b];
        }
        int[] ids = new int[rows];
        for (int b = 0; b < n; b++) {
            System.arraycopy(sequences.get(b), 0, ids, off[b], len[b]);
        }
        return new TokenBatch(ids, new int[rows], new Backward.Packing(off, len));
    }

    public int rows() {
        return ids.length;
    }

    public int count() {
        return packing.count();
    }
}
