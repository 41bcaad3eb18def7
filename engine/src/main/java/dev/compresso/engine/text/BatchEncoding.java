package dev.compresso.engine.text;

/**
 * A batch of encodings padded to one length, laid out row-major as {@code [batchSize, length]} {@code long}
 * arrays, ready for INT64 model inputs ({@code input_ids}, {@code attention_mask}, {@code token_type_ids}).
 *
 * @param batchSize     number of rows
 * @param length        tokens per row (after padding)
 * @param inputIds      token ids, {@code batchSize * length}
 * @param attentionMask 1 for tokens, 0 for padding, {@code batchSize * length}
 * @param typeIds       token type ids, {@code batchSize * length}
 */
public record BatchEncoding(int batchSize, int length, long[] inputIds, long[] attentionMask, long[] typeIds) {

    /**
     * @throws IllegalArgumentException if an array's size is not {@code batchSize * length}
     */
    public BatchEncoding {
        long size = (long) batchSize * length;
        if (batchSize < 0 || length < 0 || inputIds.length != size || attentionMask.length != size
                || typeIds.length != size) {
            throw new IllegalArgumentException("batch arrays must hold " + batchSize + " x " + length + " values");
        }
    }

    /** The tensor shape {@code [batchSize, length]}. */
    public long[] shape() {
        return new long[] {batchSize, length};
    }
}
