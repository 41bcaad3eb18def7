package dev.compresso.engine.json;

/**
 * Malformed JSON text, or a value {@link Json#write(Object)} cannot represent. Parse errors carry the
 * 1-based line and column of the offending character so a user can find it in a hand-edited file.
 */
public final class JsonException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    private final int line;
    private final int column;

    /**
     * A parse error at a position.
     *
     * @param message what is wrong (without the position; it is appended)
     * @param line    1-based line
     * @param column  1-based column, counted in UTF-16 chars
     */
    public JsonException(String message, int line, int column) {
        super(message + " at line " + line + ", column " + column);
        this.line = line;
        this.column = column;
    }

    /**
     * An error without a position (writing).
     *
     * @param message what is wrong
     */
    public JsonException(String message) {
        super(message);
        this.line = 0;
        this.column = 0;
    }

    /** 1-based line of a parse error, 0 when there is no position. */
    public int line() {
        return line;
    }

    /** 1-based column of a parse error, 0 when there is no position. */
    public int column() {
        return column;
    }
}
