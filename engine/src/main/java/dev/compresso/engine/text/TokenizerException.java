package dev.compresso.engine.text;

/**
 * A tokenizer file the engine cannot use: malformed, or asking for a component this engine does not
 * implement. The message names the file (or source) and the JSON field at fault, e.g.
 * {@code "tokenizer.json: normalizer.type: unsupported 'Sequence' (supported: BertNormalizer)"}.
 */
public final class TokenizerException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    /**
     * @param message the full message, naming the source and field
     */
    public TokenizerException(String message) {
        super(message);
    }

    /**
     * @param message the full message, naming the source and field
     * @param cause   the underlying error (e.g. a JSON syntax error)
     */
    public TokenizerException(String message, Throwable cause) {
        super(message, cause);
    }
}
