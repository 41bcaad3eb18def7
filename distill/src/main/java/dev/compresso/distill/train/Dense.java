package dev.compresso.distill.train;

import dev.compresso.engine.kernel.Backward;

/**
 * A trainable linear layer {@code y = x · Wᵀ + b}, {@code W [out, in]}, with the packed panels the forward and
 * backward GEMMs run on, repacked only when the weights changed.
 */
public final class Dense {
    final Param w;
    final Param b;
    final int out;
    final int in;
    private float[] panels = new float[0];
    private float[] panelsT = new float[0];
    private int packedVersion = -1;
    private int packedVersionT = -1;
    /** Quantization-aware training: the learned static activation scale, or null when off. */
    private Param actScale;
    private float[] wq = new float[0];
    private int wqVersion = -1;
    private float[] xq = new float[0];
    /** Input-channel factors under QAT (SmoothQuant's migration), or null. */
    private float[] factors;
    private float[] inverse;
    private float inverseFor = Float.NaN;

    Dense(String name, int out, int in, float[] weights, float[] bias, boolean trainable) {
        this.out = out;
        this.in = in;
        // A frozen layer adopts the caller's arrays and keeps only its packed panels (the forward GEMM's form).
        this.w = new Param(name + ".weight", out, in, weights, true, false, trainable, trainable);
        this.b = new Param(name + ".bias", 1, out, bias == null ? new float[out] : bias, false, false, trainable, trainable);
        if (!trainable) {
            if (weights.length != (long) out * in) {
                throw new IllegalArgumentException("layer " + name + ": " + weights.length + " weights for [" + out
                        + ", " + in + "]");
            }
            panels = new float[Backward.panelSize(out, in)];
            Backward.packPanels(weights, out, in, panels, 1);
            packedVersion = w.version();
            w.release();
        }
    }

    /** Bytes of the packed copies and QAT buffers (memory accounting). */
    long packedBytes() {
        return 4L * (panels.length + panelsT.length + wq.length + xq.length);
    }

    /** Drops the packed copies and QAT buffers (the end of training; the layer is not run again). */
    void dropPacked() {
        panels = new float[0];
        panelsT = new float[0];
        wq = new float[0];
        xq = new float[0];
        packedVersion = -1;
        packedVersionT = -1;
        wqVersion = -1;
    }

    /** The weight parameter {@code [out, in]}. */
    public Param weight() {
        return w;
    }

    /** The bias parameter. */
    public Param bias() {
        return b;
    }

    /**
     * Turns on quantization-aware training for this layer: from now on the forward pass runs on int8
     * fake-quantized weights (per output row) and inputs (one static scale, learned from {@code initialScale}),
     * as the engine's static W8A8 kernel will (see {@link FakeQuant}).
     *
     * @return the activation-scale parameter (to be trained with the others)
     * @throws IllegalStateException    if already on, or on a frozen layer
     * @throws IllegalArgumentException if the scale is not positive and finite
     */
    Param quantize(float initialScale) {
        return quantize(initialScale, null);
    }

    /**
     * As {@link #quantize(float)}, with input-channel factors {@code f} (fixed): the layer is exported as
     * {@code W·diag(f)} reading {@code x ⊘ f}, channel {@code j} quantized with scale {@code s·f_j}.
     *
     * @param factors {@code in} positive finite factors, or null
     */
    Param quantize(float initialScale, float[] factors) {
        if (factors != null) {
            if (factors.length != in) {
                throw new IllegalArgumentException("layer " + name() + ": " + factors.length + " channel factors for "
                        + in + " inputs");
            }
            for (float v : factors) {
                if (!(v > 0) || Float.isInfinite(v)) {
                    throw new IllegalArgumentException("layer " + name() + ": channel factor " + v);
                }
            }
            this.factors = factors.clone();
        }
        if (actScale != null || w.grad == null) {
            throw new IllegalStateException("layer " + name() + ": " + (actScale != null ? "already quantized" : "frozen"));
        }
        if (!(initialScale > 0) || Float.isInfinite(initialScale)) {
            throw new IllegalArgumentException("layer " + name() + ": activation scale " + initialScale);
        }
        actScale = new Param(name() + ".act_scale", 1, 1, new float[] {initialScale}, false, false, true);
        packedVersion = -1;
        packedVersionT = -1;
        return actScale;
    }

    /** The layer's name (its weight's, without {@code .weight}). */
    public String name() {
        String n = w.name();
        return n.endsWith(".weight") ? n.substring(0, n.length() - ".weight".length()) : n;
    }

    /** The learned static activation scale, or NaN when quantization-aware training is off. */
    public float activationScale() {
        return actScale == null ? Float.NaN : scale();
    }

    /** The input-channel factors under QAT, or null. */
    public float[] channelFactors() {
        return factors == null ? null : factors.clone();
    }

    /** {@code 1 / (s·f_j)} for the current scale, as the engine computes it. */
    private float[] inverse() {
        float s = scale();
        if (inverseFor != s) {
            inverse = dev.compresso.engine.kernel.Kernels.channelInverse(s, factors);
            inverseFor = s;
        }
        return inverse;
    }

    private float scale() {
        return Math.max(FakeQuant.MIN_SCALE, actScale.value[0]);
    }

    /** The weights the GEMMs use: the parameter itself, or its fake-quantized copy under QAT. */
    private float[] effectiveWeights(int threads) {
        if (actScale == null) {
            return w.value;
        }
        if (wqVersion != w.version()) {
            if (wq.length != w.value.length) {
                wq = new float[w.value.length];
            }
            FakeQuant.weights(w.value, out, in, factors, wq, threads);
            wqVersion = w.version();
        }
        return wq;
    }

    void forward(float[] x, int rows, float[] y, Backward.Scratch scratch, int threads) {
        if (packedVersion != w.version()) {
            if (panels.length != Backward.panelSize(out, in)) {
                panels = new float[Backward.panelSize(out, in)];
            }
            Backward.packPanels(effectiveWeights(threads), out, in, panels, threads);
            packedVersion = w.version();
        }
        if (actScale != null) {
            int n = rows * in;
            if (xq.length < n) {
                xq = new float[n];
            }
            if (factors == null) {
                FakeQuant.activations(x, n, scale(), xq);
            } else {
                FakeQuant.activations(x, n, in, scale(), factors, inverse(), xq);
            }
            x = xq;
        }
        Backward.linearForward(x, rows, panels, b.value, out, in, y, scratch, threads);
    }

    /**
     * Backward of the last {@link #forward}; {@code x} is the input that forward saw (under QAT its quantized
     * copy, kept by this layer, is used instead, and the input gradient is masked where the input was clipped).
     */
    void backward(float[] x, float[] dy, int rows, float[] dx, Backward.Scratch scratch, int threads) {
        // Under QAT the scale's gradient needs dy · W even where the caller wants no input gradient.
        float[] d = dx != null || actScale == null ? dx : new float[rows * in];
        if (d != null && packedVersionT != w.version()) {
            if (panelsT.length != Backward.panelSize(in, out)) {
                panelsT = new float[Backward.panelSize(in, out)];
            }
            Backward.packPanelsTransposed(effectiveWeights(threads), out, in, panelsT, threads);
            packedVersionT = w.version();
        }
        if (actScale == null) {
            Backward.linearBackward(x, dy, rows, out, in, panelsT, d, w.grad, b.grad, scratch, threads);
            return;
        }
        Backward.linearBackward(xq, dy, rows, out, in, panelsT, d, w.grad, b.grad, scratch, threads);
        actScale.grad[0] += (float) (factors == null ? FakeQuant.activationsBackward(x, rows * in, scale(), d)
                : FakeQuant.activationsBackward(x, rows * in, in, factors, inverse(), d));
    }

}
