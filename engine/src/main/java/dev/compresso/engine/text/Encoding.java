package dev.compresso.engine.text;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * One tokenized text (or text pair): token ids with their attention mask and token type ids, all the same
 * length. Arrays are defensive copies, so an {@code Encoding} is immutable.
 */
public final class Encoding {
    private final int[] ids;
    private final int[] typeIds;
    private final int[] attentionMask;
    private final List<String> tokens;

    /**
     * @param ids           token ids
     * @param typeIds       token type (segment) ids, same length
     * @param attentionMask 1 for real tokens, 0 for padding, same length
     * @param tokens        token strings, same length
     * @throws IllegalArgumentException if the lengths differ
     * @throws NullPointerException     if an argument is null
     */
    public Encoding(int[] ids, int[] typeIds, int[] attentionMask, List<String> tokens) {
        int n = ids.length;
        if (typeIds.length != n || attentionMask.length != n || tokens.size() != n) {
            throw new IllegalArgumentException("ids, type ids, attention mask and tokens differ in length: "
                    + n + ", " + typeIds.length + ", " + attentionMask.length + ", " + tokens.size());
        }
        this.ids = ids.clone();
        this.typeIds = typeIds.clone();
        this.attentionMask = attentionMask.clone();
        this.tokens = List.copyOf(tokens);
    }

    /** Number of tokens, special tokens and padding included. */
    public int length() {
        return ids.length;
    }

    /** Token ids (a copy). */
    public int[] ids() {
        return ids.clone();
    }

    /** Token type ids (a copy): 0 for the first sequence, 1 for the second of a pair. */
    public int[] typeIds() {
        return typeIds.clone();
    }

    /** Attention mask (a copy): 1 for tokens, 0 for padding. */
    public int[] attentionMask() {
        return attentionMask.clone();
    }

    /** Token strings, e.g. {@code [CLS], hello, ##s, [SEP]}. */
    public List<String> tokens() {
        return tokens;
    }

    int id(int i) {
        return ids[i];
    }

    int typeId(int i) {
        return typeIds[i];
    }

    int mask(int i) {
        return attentionMask[i];
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Encoding e && Arrays.equals(ids, e.ids) && Arrays.equals(typeIds, e.typeIds)
                && Arrays.equals(attentionMask, e.attentionMask) && tokens.equals(e.tokens);
    }

    @Override
    public int hashCode() {
        return Objects.hash(Arrays.hashCode(ids), Arrays.hashCode(typeIds), Arrays.hashCode(attentionMask));
    }

    @Override
    public String toString() {
        return "Encoding" + tokens + Arrays.toString(ids);
    }
}
