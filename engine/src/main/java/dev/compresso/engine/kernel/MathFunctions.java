package dev.compresso.engine.kernel;

/** Scalar math the JDK lacks. */
public final class MathFunctions {
    private MathFunctions() {}

    /**
     * The error function, with absolute error below 1.2e-7 everywhere (Numerical Recipes' erfc Chebyshev
     * fit), enough for fp32 models; odd and saturating exactly to ±1.
     */
    public static double erf(double x) {
        double z = Math.abs(x);
        double t = 1.0 / (1.0 + 0.5 * z);
        double r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
                + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587
                + t * (-0.82215223 + t * 0.17087277)))))))));
        double erf = 1.0 - r;
        return x >= 0 ? erf : -erf;
    }
}
