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

    Dense(String name, int out, int in, float[] weights, float[] bias, boolean trainable) {
        this.out = out;
        this.in = in;
        this.w = new Param(name + ".weight", out, in, weights, true, false, trainable);
        this.b = new Param(name + ".bias", 1, out, bias == null ? new float[out] : bias, false, false, trainable);
    }

    /** The weight parameter {@code [out, in]}. */
    public Param weight() {
        return w;
    }

    /** The bias parameter. */
    public Param bias() {
        return b;
    }

    void forward(float[] x, int rows, float[] y, Backward.Scratch scratch, int threads) {
        if (packedVersion != w.version()) {
            if (panels.length != Backward.panelSize(out, in)) {
                panels = new float[Backward.panelSize(out, in)];
            }
            Backward.packPanels(w.value, out, in, panels, threads);
            packedVersion = w.version();
        }
        Backward.linearForward(x, rows, panels, b.value, out, in, y, scratch, threads);
    }

    void backward(float[] x, float[] dy, int rows, float[] dx, Backward.Scratch scratch, int threads) {
        if (dx != null && packedVersionT != w.version()) {
            if (panelsT.length != Backward.panelSize(in, out)) {
                panelsT = new float[Backward.panelSize(in, out)];
            }
            Backward.packPanelsTransposed(w.value, out, in, panelsT, threads);
            packedVersionT = w.version();
        }
        Backward.linearBackward(x, dy, rows, out, in, panelsT, dx, w.grad, b.grad, scratch, threads);
    }
}
