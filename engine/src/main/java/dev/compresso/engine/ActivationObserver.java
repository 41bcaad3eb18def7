package dev.compresso.engine;

import java.lang.foreign.MemorySegment;

/**
 * Sees the fp32 input activations of every fused linear node, synchronously, before its kernel runs. Used
 * for calibration: int8 static ranges, SmoothQuant channel maxima, sensitivity analysis.
 */
@FunctionalInterface
public interface ActivationObserver {
    /**
     * Called once per fused linear node per run.
     *
     * @param nodeName name of the {@code Linear} node
     * @param input    row-major {@code [rows, cols]} fp32 activations; valid only during the call, do not keep
     * @param rows     rows (tokens across the batch)
     * @param cols     input features
     */
    void linearInput(String nodeName, MemorySegment input, int rows, int cols);
}
