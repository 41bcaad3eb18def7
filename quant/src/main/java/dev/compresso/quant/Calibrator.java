package dev.compresso.quant;

import java.lang.foreign.MemorySegment;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Collects {@link ActivationStats} for every linear layer's input while calibration sentences run through a
 * session (install it as the session's activation observer). Thread-safe: sessions may call it from workers.
 */
public final class Calibrator implements dev.compresso.engine.ActivationObserver {
    private final Map<String, ActivationStats> stats = new LinkedHashMap<>();

    /**
     * Records one linear layer's fp32 input.
     *
     * @throws QuantizationException on NaN or infinite activations (naming the layer)
     */
    @Override
    public synchronized void linearInput(String nodeName, MemorySegment input, int rows, int cols) {
        stats.computeIfAbsent(nodeName, ActivationStats::new).observe(input, rows, cols);
    }

    /** Statistics per layer name, in the order layers were first seen (read-only view). */
    public synchronized Map<String, ActivationStats> stats() {
        return Collections.unmodifiableMap(new LinkedHashMap<>(stats));
    }
}
