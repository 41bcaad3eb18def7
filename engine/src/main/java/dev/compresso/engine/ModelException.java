package dev.compresso.engine;

/**
 * A model file or graph cannot be used: malformed, truncated, of an unsupported version, or inconsistent.
 * The message names the file and the node, tensor or operator at fault.
 */
public final class ModelException extends Exception {
    private static final long serialVersionUID = 1L;

    /**
     * @param message what is wrong, naming the file and the node/tensor/op
     */
    public ModelException(String message) {
        super(message);
    }

    /**
     * @param message what is wrong, naming the file and the node/tensor/op
     * @param cause   the underlying failure
     */
    public ModelException(String message, Throwable cause) {
        super(message, cause);
    }
}
