package dev.compresso.engine.graph;

import java.util.List;
import java.util.Map;

/**
 * Layer normalization over the last dimension, {@code y = (s − mean(s)) / sqrt(var(s) + ε) · γ + β}, where
 * {@code s = x} or, with a second input, {@code s = x + residual} (the residual add fused in).
 */
public final class LayerNorm extends Node {
    /** The op name of fused layer-norm nodes. */
    public static final String OP = "LayerNorm";

    private final float[] gamma;
    private final float[] beta;
    private final float epsilon;

    /**
     * @param name    node name
     * @param inputs  {@code [x]} or {@code [x, residual]} (same shape)
     * @param output  output tensor name
     * @param gamma   scale, one per channel
     * @param beta    shift, one per channel
     * @param epsilon variance epsilon
     * @throws IllegalArgumentException when gamma and beta lengths differ or inputs are not 1 or 2
     */
    public LayerNorm(String name, List<String> inputs, String output, float[] gamma, float[] beta, float epsilon) {
        super(OP, "", name, inputs, List.of(output), Map.of());
        if (gamma.length != beta.length) {
            throw new IllegalArgumentException("layer norm " + name + ": gamma has " + gamma.length
                    + " values, beta " + beta.length);
        }
        if (inputs.isEmpty() || inputs.size() > 2) {
            throw new IllegalArgumentException("layer norm " + name + " takes 1 or 2 inputs, got " + inputs);
        }
        if (!(epsilon >= 0) || Float.isInfinite(epsilon)) {
            throw new IllegalArgumentException("layer norm " + name + ": epsilon must be a finite number >= 0, not "
                    + epsilon);
        }
        this.gamma = gamma.clone();
        this.beta = beta.clone();
        this.epsilon = epsilon;
    }

    /** @return a copy of γ */
    public float[] gamma() {
        return gamma.clone();
    }

    /** @return a copy of β */
    public float[] beta() {
        return beta.clone();
    }

    /** @return ε */
    public float epsilon() {
        return epsilon;
    }

    /** @return channels */
    public int channels() {
        return gamma.length;
    }

    /** Package-private views without copy, for the runtime's hot path. */
    float[] gammaRef() {
        return gamma;
    }

    float[] betaRef() {
        return beta;
    }

    /**
     * @param newGamma γ
     * @param newBeta  β
     * @return a copy with other γ and β (e.g. SmoothQuant factors folded in)
     * @throws IllegalArgumentException when a length differs from {@link #channels()}
     */
    public LayerNorm withGammaBeta(float[] newGamma, float[] newBeta) {
        if (newGamma.length != gamma.length || newBeta.length != beta.length) {
            throw new IllegalArgumentException("layer norm " + name() + ": expected " + gamma.length + " channels");
        }
        return new LayerNorm(name(), inputs(), outputs().get(0), newGamma, newBeta, epsilon);
    }

    @Override
    public LayerNorm withValues(List<String> newInputs, List<String> newOutputs) {
        return new LayerNorm(name(), newInputs, newOutputs.get(0), gamma(), beta(), epsilon());
    }
}
