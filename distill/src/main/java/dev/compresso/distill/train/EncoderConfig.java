package dev.compresso.distill.train;

/**
 * Shape of a BERT-family encoder.
 *
 * @param vocab        rows of the word-embedding table
 * @param maxPositions rows of the position-embedding table (longest sequence)
 * @param typeVocab    rows of the token-type table (0 when the model has none)
 * @param hidden       hidden width H
 * @param heads        attention heads (divides H)
 * @param ffn          feed-forward width
 * @param layers       transformer layers
 * @param eps          layer-norm epsilon
 */
public record EncoderConfig(int vocab, int maxPositions, int typeVocab, int hidden, int heads, int ffn, int layers,
        float eps) {
    public EncoderConfig {
        if (vocab < 1 || maxPositions < 1 || typeVocab < 0 || hidden < 1 || heads < 1 || hidden % heads != 0 || ffn < 1
                || layers < 0 || !(eps > 0) || !Float.isFinite(eps)) {
            throw new IllegalArgumentException("invalid encoder shape: vocab " + vocab + ", positions " + maxPositions
                    + ", types " + typeVocab + ", hidden " + hidden + ", heads " + heads + ", ffn " + ffn + ", layers "
                    + layers + ", eps " + eps);
        }
    }

    /** The same shape with another layer count. */
    public EncoderConfig withLayers(int n) {
        return new EncoderConfig(vocab, maxPositions, typeVocab, hidden, heads, ffn, n, eps);
    }

    /** The same shape with another feed-forward width (a student whose FFN neurons were pruned). */
    public EncoderConfig withFfn(int width) {
        return new EncoderConfig(vocab, maxPositions, typeVocab, hidden, heads, width, layers, eps);
    }
}
