package dev.compresso.engine.kernel;

/** Element-wise activation fused into a kernel's epilogue. */
public enum Activation {
    /** Identity. */
    NONE,
    /** {@code max(0, x)}. */
    RELU,
    /** Exact GELU, {@code x · Φ(x) = 0.5 x (1 + erf(x / √2))}, as BERT exports it (Erf pattern). */
    GELU,
    /** Tanh approximation of GELU. */
    GELU_TANH;

    /** Applies this activation to one value (the scalar reference of the fused epilogue). */
    public float apply(float x) {
        return switch (this) {
            case NONE -> x;
            case RELU -> x > 0f ? x : 0f;
            case GELU -> (float) (0.5 * x * (1.0 + MathFunctions.erf(x * 0.7071067811865476)));
            case GELU_TANH -> (float) (0.5 * x * (1.0 + Math.tanh(0.7978845608028654 * (x + 0.044715 * x * (double) x * x))));
        };
    }
}
