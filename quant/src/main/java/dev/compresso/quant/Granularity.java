package dev.compresso.quant;

/** How many scales a quantized weight matrix carries. */
public enum Granularity {
    /** One scale per output channel (row of {@code W}): the default, robust to rows of different magnitude. */
    PER_CHANNEL,
    /** One scale for the whole matrix (repeated per channel in {@link dev.compresso.engine.weights.Int8Panels}). */
    PER_TENSOR
}
