package dev.compresso.engine.graph;

import dev.compresso.engine.kernel.Activation;
import dev.compresso.engine.kernel.Int8Mode;
import dev.compresso.engine.weights.Int8Panels;
import dev.compresso.engine.weights.PackedWeights;
import dev.compresso.engine.weights.Panels;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Map;

/**
 * A fused linear layer {@code y = act(x · Wᵀ + bias)} over the last dimension of its one input: {@code x} is
 * {@code [..., K]}, {@code y} is {@code [..., N]}. Made from ONNX {@code MatMul}/{@code Gemm} (+{@code Add})
 * (+ Erf-GELU) with constant weights. Passes swap the weights ({@link #withWeights}) and set how int8 weights
 * treat their activations ({@link #withInt8Mode}, {@link #withStaticActivationScale}).
 */
public final class Linear extends Node {
    /** The op name of fused linear nodes. */
    public static final String OP = "Linear";

    private final PackedWeights weights;
    private final float[] bias;
    private final Activation activation;
    private final Int8Mode int8Mode;
    private final float staticScale;
    private final float[] channelFactors;
    private final float[] channelInverse;
    private final MemorySegment biasSegment;

    /**
     * @param name        node name
     * @param input       input tensor name
     * @param output      output tensor name
     * @param weights     packed {@code [N, K]} weights
     * @param bias        {@code N} floats, or {@code null}
     * @param activation  fused epilogue activation
     * @param int8Mode    activation mode for int8 weights ({@link Int8Mode#AUTO} for the kernel's choice)
     * @param staticScale fixed int8 activation scale ({@code > 0}), or {@code NaN} for dynamic per-row
     *                    quantization; only meaningful with {@link Int8Panels}
     * @throws IllegalArgumentException when the bias length is not {@code N} or the scale is not positive
     */
    public Linear(String name, String input, String output, PackedWeights weights, float[] bias,
            Activation activation, Int8Mode int8Mode, float staticScale) {
        this(name, input, output, weights, bias, activation, int8Mode, staticScale, null);
    }

    /**
     * The general form, with per-input-channel factors {@code f} (SmoothQuant's migration folded into the layer):
     * the layer computes {@code y = act((x ⊘ f) · Wᵀ + bias)}, {@code weights} holding the migrated
     * {@code W·diag(f)}. With a static scale {@code s}, channel {@code j} is quantized with scale {@code s·f_j}
     * inside the int8 kernel (no extra pass); otherwise the runtime divides the input by {@code f} first.
     *
     * @param channelFactors {@code K} positive finite factors, or {@code null} for none
     * @throws IllegalArgumentException as the other constructor, or when a factor is not positive and finite or
     *                                  their number is not {@code K}
     */
    public Linear(String name, String input, String output, PackedWeights weights, float[] bias,
            Activation activation, Int8Mode int8Mode, float staticScale, float[] channelFactors) {
        super(OP, "", name, List.of(input), List.of(output), Map.of());
        if (channelFactors != null) {
            if (channelFactors.length != weights.inFeatures()) {
                throw new IllegalArgumentException("linear " + name + ": " + channelFactors.length
                        + " channel factors for " + weights.inFeatures() + " inputs");
            }
            for (int j = 0; j < channelFactors.length; j++) {
                if (!(channelFactors[j] > 0 && Float.isFinite(channelFactors[j]))) {
                    throw new IllegalArgumentException("linear " + name + ": channel factor " + j + " is "
                            + channelFactors[j]);
                }
            }
        }
        if (bias != null && bias.length != weights.outFeatures()) {
            throw new IllegalArgumentException("linear " + name + ": bias has " + bias.length
                    + " values, weights have " + weights.outFeatures() + " outputs");
        }
        if (!Float.isNaN(staticScale) && !(staticScale > 0 && Float.isFinite(staticScale))) {
            throw new IllegalArgumentException("linear " + name + ": static activation scale " + staticScale);
        }
        this.weights = weights;
        this.bias = bias == null ? null : bias.clone();
        this.activation = activation;
        this.int8Mode = int8Mode;
        this.staticScale = staticScale;
        this.channelFactors = channelFactors == null ? null : channelFactors.clone();
        if (channelFactors == null) {
            this.channelInverse = null;
        } else if (Float.isNaN(staticScale)) {
            this.channelInverse = dev.compresso.engine.kernel.Kernels.channelInverse(1f, channelFactors);
        } else {
            this.channelInverse = dev.compresso.engine.kernel.Kernels.channelInverse(staticScale, channelFactors);
            for (float v : channelInverse) {
                if (!(v > 0) || Float.isInfinite(v)) {
                    throw new IllegalArgumentException("linear " + name + ": static scale " + staticScale
                            + " with its channel factors gives an inverse scale of " + v);
                }
            }
        }
        if (bias == null) {
            this.biasSegment = null;
        } else {
            this.biasSegment = Panels.allocate((long) bias.length * 4);
            MemorySegment.copy(bias, 0, biasSegment, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, bias.length);
        }
    }

    /**
     * A linear node with fp32-style defaults: {@link Int8Mode#AUTO}, dynamic activation scale.
     *
     * @param name       node name
     * @param input      input tensor name
     * @param output     output tensor name
     * @param weights    packed weights
     * @param bias       bias or {@code null}
     * @param activation fused activation
     */
    public Linear(String name, String input, String output, PackedWeights weights, float[] bias,
            Activation activation) {
        this(name, input, output, weights, bias, activation, Int8Mode.AUTO, Float.NaN);
    }

    /** @return the packed weights */
    public PackedWeights weights() {
        return weights;
    }

    /** @return a copy of the bias, or {@code null} */
    public float[] bias() {
        return bias == null ? null : bias.clone();
    }

    /** @return the bias as an off-heap segment (shared, do not modify), or {@code null} */
    public MemorySegment biasSegment() {
        return biasSegment;
    }

    /** @return the fused activation */
    public Activation activation() {
        return activation;
    }

    /** @return the int8 activation mode */
    public Int8Mode int8Mode() {
        return int8Mode;
    }

    /** @return the static int8 activation scale, or {@code NaN} when activations are quantized dynamically */
    public float staticActivationScale() {
        return staticScale;
    }

    /** @return whether a static int8 activation scale is set */
    public boolean isStatic() {
        return !Float.isNaN(staticScale);
    }

    /** @return a copy of the per-input-channel factors, or {@code null} when the layer has none */
    public float[] channelFactors() {
        return channelFactors == null ? null : channelFactors.clone();
    }

    /**
     * The inverse scales the kernels multiply the input by (shared, do not modify): with a static scale
     * {@code 1 / (s·f_j)} ({@link dev.compresso.engine.kernel.Kernels#channelInverse}), otherwise {@code 1 / f_j};
     * {@code null} without channel factors.
     */
    public float[] channelInverse() {
        return channelInverse;
    }

    /** @return {@code N} */
    public int outFeatures() {
        return weights.outFeatures();
    }

    /** @return {@code K} */
    public int inFeatures() {
        return weights.inFeatures();
    }

    /**
     * @param w new weights of the same shape
     * @return a copy with other weights
     * @throws IllegalArgumentException when the shape differs
     */
    public Linear withWeights(PackedWeights w) {
        if (w.outFeatures() != weights.outFeatures() || w.inFeatures() != weights.inFeatures()) {
            throw new IllegalArgumentException("linear " + name() + ": weights [" + w.outFeatures() + ", "
                    + w.inFeatures() + "] replace [" + weights.outFeatures() + ", " + weights.inFeatures() + "]");
        }
        return new Linear(name(), inputs().get(0), outputs().get(0), w, bias, activation, int8Mode, staticScale,
                channelFactors);
    }

    /**
     * @param b new bias ({@code N} floats) or {@code null}
     * @return a copy with another bias
     * @throws IllegalArgumentException on a wrong length
     */
    public Linear withBias(float[] b) {
        return new Linear(name(), inputs().get(0), outputs().get(0), weights, b, activation, int8Mode, staticScale,
                channelFactors);
    }

    /**
     * @param mode int8 activation mode
     * @return a copy with that mode and a dynamic activation scale
     */
    public Linear withInt8Mode(Int8Mode mode) {
        return new Linear(name(), inputs().get(0), outputs().get(0), weights, bias, activation, mode, Float.NaN,
                channelFactors);
    }

    /**
     * @param scale fixed int8 activation scale ({@code x_q = round(x / scale)} clamped to [-127, 127})
     * @return a copy in static W8A8 mode
     * @throws IllegalArgumentException when the scale is not positive and finite
     */
    public Linear withStaticActivationScale(float scale) {
        if (!(scale > 0 && Float.isFinite(scale))) {
            throw new IllegalArgumentException("linear " + name() + ": static activation scale " + scale);
        }
        return new Linear(name(), inputs().get(0), outputs().get(0), weights, bias, activation, Int8Mode.W8A8, scale,
                channelFactors);
    }

    /**
     * @param w       weights with column {@code j} already multiplied by {@code factors[j]}
     * @param factors per-input-channel factors ({@code K} positive finite values), or {@code null} to remove them
     * @return a copy computing {@code act((x ⊘ factors) · wᵀ + bias)}
     * @throws IllegalArgumentException on a wrong shape or factor
     */
    public Linear withChannelFactors(PackedWeights w, float[] factors) {
        if (w.outFeatures() != weights.outFeatures() || w.inFeatures() != weights.inFeatures()) {
            throw new IllegalArgumentException("linear " + name() + ": weights [" + w.outFeatures() + ", "
                    + w.inFeatures() + "] replace [" + weights.outFeatures() + ", " + weights.inFeatures() + "]");
        }
        return new Linear(name(), inputs().get(0), outputs().get(0), w, bias, activation, int8Mode, staticScale,
                factors);
    }

    @Override
    public Linear withValues(List<String> newInputs, List<String> newOutputs) {
        return new Linear(name(), newInputs.get(0), newOutputs.get(0), weights, bias, activation, int8Mode, staticScale);
    }

    @Override
    public String toString() {
        return "Linear(" + name() + ": " + inputs() + " -> " + outputs() + ", " + weights.format() + " ["
                + weights.outFeatures() + ", " + weights.inFeatures() + "]" + (bias != null ? " +bias" : "")
                + (activation != Activation.NONE ? " " + activation : "") + (channelFactors != null ? " channel factors" : "")
                + ")";
    }
}
