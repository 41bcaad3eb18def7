package dev.compresso.engine;

/**
 * A model file or graph that cannot be loaded or run: malformed bytes, an unsupported operator or attribute,
 * inputs that do not fit the graph. The message names the file (when there is one) and the node, tensor or
 * operator at fault.
 */
public final class ModelException extends Exception {
    private static final long serialVersionUID = 1L;

    /**
     * @param message what is wrong, naming the file and node/tensor/op
     */
    public ModelException(String message) {
        super(message);
    }

    /**
     * @param message what is wrong, naming the file and node/tensor/op
     * @param cause   the underlying failure
     */
    public ModelException(String message, Throwable cause) {
        super(message, cause);
    }
}
