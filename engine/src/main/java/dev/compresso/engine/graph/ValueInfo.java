package dev.compresso.engine.graph;

import dev.compresso.engine.DType;
import java.util.List;

/**
 * A graph input or output: name, element type and symbolic shape.
 *
 * @param name  tensor name
 * @param dtype element type (may be {@code null} when unknown)
 * @param shape dimensions; empty for a scalar or an unknown rank
 */
public record ValueInfo(String name, DType dtype, List<Dim> shape) {

    /** Copies the shape list. */
    public ValueInfo {
        shape = List.copyOf(shape);
    }

    /**
     * One dimension: a fixed size, or a symbol such as {@code "batch"} (size -1), or unknown (-1, null).
     *
     * @param size   the size, or -1 when not fixed
     * @param symbol the symbolic name, or {@code null}
     */
    public record Dim(long size, String symbol) {
        @Override
        public String toString() {
            return size >= 0 ? Long.toString(size) : symbol != null ? symbol : "?";
        }
    }
}
