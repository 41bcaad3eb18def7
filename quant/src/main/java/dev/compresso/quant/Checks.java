package dev.compresso.quant;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Finite-value checks shared by the passes. */
final class Checks {
    private Checks() {}

    /**
     * @throws QuantizationException naming the tensor, row and column of the first NaN or infinity
     */
    static void finite(String name, float[] w, int cols) {
        for (int i = 0; i < w.length; i++) {
            if (!Float.isFinite(w[i])) {
                throw new QuantizationException("tensor '" + name + "' has " + w[i] + " at [" + (cols == 0 ? 0 : i / cols)
                        + ", " + (cols == 0 ? i : i % cols) + "]: refusing to quantize a non-finite weight");
            }
        }
    }

    /**
     * @throws QuantizationException naming the layer, row and column of the first NaN or infinity
     */
    static void finiteActivations(String layer, MemorySegment x, int rows, int cols) {
        long n = (long) rows * cols;
        for (long i = 0; i < n; i++) {
            float v = x.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i);
            if (!Float.isFinite(v)) {
                throw new QuantizationException("calibration input of layer '" + layer + "' has " + v + " at row "
                        + i / cols + ", column " + i % cols + ": check the calibration data and the model");
            }
        }
    }
}
