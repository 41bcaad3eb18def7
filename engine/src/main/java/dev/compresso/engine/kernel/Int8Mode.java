package dev.compresso.engine.kernel;

/** How an int8 linear layer treats its activations. */
public enum Int8Mode {
    /** The kernel picks the faster mode for the shape (measured; see the README's kernel table). */
    AUTO,
    /** fp32 activations; weights widened in registers. Exact to fp32 rounding of the dequantized weights. */
    W8A32,
    /** Activations quantized per row at run time to int8; exact int32 accumulation. */
    W8A8
}
