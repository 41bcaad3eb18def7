package dev.compresso.distill.train;

/** Trainable layer-norm scale and shift. */
public final class Norm {
    final Param gamma;
    final Param beta;
    final float eps;

    Norm(String name, float[] gamma, float[] beta, float eps, boolean trainable) {
        this.gamma = new Param(name + ".gamma", 1, gamma.length, gamma, false, false, trainable);
        this.beta = new Param(name + ".beta", 1, beta.length, beta, false, false, trainable);
        this.eps = eps;
    }

    public Param gamma() {
        return gamma;
    }

    public Param beta() {
        return beta;
    }

    public float eps() {
        return eps;
    }
}
