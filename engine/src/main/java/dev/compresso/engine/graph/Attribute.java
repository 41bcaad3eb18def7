package dev.compresso.engine.graph;

import dev.compresso.engine.Tensor;
import java.util.List;

/**
 * A typed node attribute, as in ONNX's {@code AttributeProto}.
 *
 * @param name  attribute name
 * @param type  which kind of value
 * @param value {@link Float}, {@link Long}, {@link String}, {@link Tensor}, {@code float[]}, {@code long[]} or
 *              {@code List<String>}, matching {@code type}
 */
public record Attribute(String name, Type type, Object value) {

    /** Attribute kinds (ONNX {@code AttributeType} subset). */
    public enum Type { FLOAT, INT, STRING, TENSOR, FLOATS, INTS, STRINGS }

    /**
     * Checks that the value matches the type.
     *
     * @throws IllegalArgumentException when it does not
     */
    public Attribute {
        boolean ok = switch (type) {
            case FLOAT -> value instanceof Float;
            case INT -> value instanceof Long;
            case STRING -> value instanceof String;
            case TENSOR -> value instanceof Tensor;
            case FLOATS -> value instanceof float[];
            case INTS -> value instanceof long[];
            case STRINGS -> value instanceof List<?>;
        };
        if (!ok) {
            throw new IllegalArgumentException("attribute " + name + " of type " + type + " holds "
                    + (value == null ? "null" : value.getClass().getSimpleName()));
        }
    }

    /** @return a float attribute */
    public static Attribute of(String name, float v) {
        return new Attribute(name, Type.FLOAT, v);
    }

    /** @return an int attribute */
    public static Attribute of(String name, long v) {
        return new Attribute(name, Type.INT, v);
    }

    /** @return a string attribute */
    public static Attribute of(String name, String v) {
        return new Attribute(name, Type.STRING, v);
    }

    /** @return an ints attribute */
    public static Attribute of(String name, long[] v) {
        return new Attribute(name, Type.INTS, v.clone());
    }

    /** @return a floats attribute */
    public static Attribute of(String name, float[] v) {
        return new Attribute(name, Type.FLOATS, v.clone());
    }

    /** @return a tensor attribute */
    public static Attribute of(String name, Tensor v) {
        return new Attribute(name, Type.TENSOR, v);
    }

    /**
     * @return the float value
     * @throws ClassCastException when this is not a FLOAT
     */
    public float f() {
        return (Float) value;
    }

    /**
     * @return the int value
     * @throws ClassCastException when this is not an INT
     */
    public long i() {
        return (Long) value;
    }

    /**
     * @return the string value
     * @throws ClassCastException when this is not a STRING
     */
    public String s() {
        return (String) value;
    }

    /**
     * @return the tensor value
     * @throws ClassCastException when this is not a TENSOR
     */
    public Tensor t() {
        return (Tensor) value;
    }

    /**
     * @return a copy of the floats
     * @throws ClassCastException when this is not FLOATS
     */
    public float[] floats() {
        return ((float[]) value).clone();
    }

    /**
     * @return a copy of the ints
     * @throws ClassCastException when this is not INTS
     */
    public long[] ints() {
        return ((long[]) value).clone();
    }

    /**
     * @return the strings
     * @throws ClassCastException when this is not STRINGS
     */
    @SuppressWarnings("unchecked")
    public List<String> strings() {
        return (List<String>) value;
    }
}
