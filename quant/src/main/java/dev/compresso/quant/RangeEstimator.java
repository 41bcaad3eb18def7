package dev.compresso.quant;

/**
 * Chooses the clipping threshold {@code t} of a symmetric int8 activation quantizer (scale {@code t / 127})
 * from an {@link AbsHistogram}.
 */
public enum RangeEstimator {
    /** The largest absolute value seen: no clipping, coarsest grid. */
    MINMAX,
    /** The 99.99th percentile of |x|: clips the rarest outliers. */
    PERCENTILE,
    /** The threshold minimizing the expected squared quantization error (rounding + clipping) over the histogram. */
    MSE,
    /** The threshold minimizing KL(P‖Q) between the clipped histogram and its 128-level quantization (TensorRT's method). */
    ENTROPY;

    /** Percentile used by {@link #PERCENTILE}. */
    public static final double DEFAULT_PERCENTILE = 99.99;
    static final int LEVELS = 128;

    /** Lower-case name as used on the command line. */
    public String cliName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    /**
     * Parses a command-line name.
     *
     * @throws IllegalArgumentException on an unknown name (listing the valid ones)
     */
    public static RangeEstimator parse(String s) {
        for (RangeEstimator e : values()) {
            if (e.cliName().equals(s.toLowerCase(java.util.Locale.ROOT))) {
                return e;
            }
        }
        throw new IllegalArgumentException("unknown estimator '" + s + "': use minmax, percentile, mse or entropy");
    }

    /**
     * The clipping threshold for the data in {@code h}: positive, at most {@link AbsHistogram#max()}; 0 when only
     * zeros were seen (the caller then uses scale 0 or leaves the layer dynamic).
     */
    public float threshold(AbsHistogram h) {
        if (h.max() == 0f || h.total() == 0) {
            return 0f;
        }
        double t = switch (this) {
            case MINMAX -> h.max();
            case PERCENTILE -> percentile(h, DEFAULT_PERCENTILE);
            case MSE -> mse(h);
            case ENTROPY -> entropy(h);
        };
        return (float) Math.min(h.max(), Math.max(t, h.binWidth()));
    }

    /** Upper edge of the bin where the cumulative count reaches {@code p} percent. */
    static double percentile(AbsHistogram h, double p) {
        double[] c = h.counts();
        double total = 0;
        for (double v : c) {
            total += v;
        }
        double target = total * p / 100.0, cum = 0;
        for (int i = 0; i < c.length; i++) {
            cum += c[i];
            if (cum >= target) {
                return (i + 1) * h.binWidth();
            }
        }
        return h.range();
    }

    /**
     * Expected squared error for a threshold {@code t} at each bin edge, treating the values of a bin as uniform
     * over it: below {@code t} the exact mean rounding error onto the grid {@code Δ = t/127} (not the
     * {@code Δ²/12} approximation, which overstates the error of values much smaller than {@code Δ}), above
     * {@code t} the clipping error {@code (x − t)²}. Quadratic in the bin count, about 4M cheap steps.
     */
    static double mse(AbsHistogram h) {
        double[] c = h.counts();
        int n = c.length;
        double w = h.binWidth();
        double best = Double.MAX_VALUE, bestT = h.range();
        for (int i = 1; i <= n; i++) {
            double t = i * w, d = t / Int8Weights.QMAX;
            double err = 0;
            double prev = roundingIntegral(0, d);
            for (int b = 0; b < i; b++) {
                double next = roundingIntegral((b + 1) * w, d);
                if (c[b] != 0) {
                    err += c[b] * (next - prev) / w;
                }
                prev = next;
            }
            for (int b = i; b < n; b++) {
                if (c[b] != 0) {
                    double lo = b * w - t, hi = lo + w;
                    err += c[b] * (hi * hi * hi - lo * lo * lo) / (3 * w);
                }
            }
            if (err < best) {
                best = err;
                bestT = t;
            }
        }
        return bestT;
    }

    /** {@code ∫_{-d/2}^{x} (y − d·round(y/d))² dy} for {@code x ≥ 0}: whole periods plus the partial one. */
    static double roundingIntegral(double x, double d) {
        double k = Math.floor((x + d / 2) / d);
        double e = x - k * d; // in [-d/2, d/2)
        return k * d * d * d / 12 + (e * e * e + d * d * d / 8) / 3;
    }

    /**
     * TensorRT's entropy calibration: for each candidate {@code i ≥ 128} bins, P is the first {@code i} bins
     * with the clipped outliers added to the last, Q is those bins merged into 128 levels and spread back over
     * their non-empty bins; the threshold minimizing KL(P‖Q) wins.
     */
    static double entropy(AbsHistogram h) {
        double[] c = h.counts();
        int n = c.length;
        double best = Double.MAX_VALUE;
        int bestI = n;
        double[] p = new double[n], q = new double[n];
        double tail = 0;
        for (double v : c) {
            tail += v;
        }
        double[] suffix = new double[n + 1];
        for (int b = n - 1; b >= 0; b--) {
            suffix[b] = suffix[b + 1] + c[b];
        }
        for (int i = LEVELS; i <= n; i++) {
            System.arraycopy(c, 0, p, 0, i);
            p[i - 1] += suffix[i];
            // Q: merge c[0, i) into LEVELS chunks, spread each chunk's mass evenly over its non-empty bins.
            for (int j = 0; j < LEVELS; j++) {
                int from = (int) ((long) i * j / LEVELS), to = (int) ((long) i * (j + 1) / LEVELS);
                double mass = 0;
                int nonEmpty = 0;
                for (int b = from; b < to; b++) {
                    mass += c[b];
                    if (c[b] != 0) {
                        nonEmpty++;
                    }
                }
                for (int b = from; b < to; b++) {
                    q[b] = c[b] != 0 ? mass / nonEmpty : 0;
                }
            }
            double kl = kl(p, q, i);
            if (kl < best) {
                best = kl;
                bestI = i;
            }
        }
        return bestI * h.binWidth();
    }

    private static double kl(double[] p, double[] q, int n) {
        double sp = 0, sq = 0;
        for (int b = 0; b < n; b++) {
            sp += p[b];
            sq += q[b];
        }
        if (sp == 0) {
            return 0;
        }
        double kl = 0;
        for (int b = 0; b < n; b++) {
            if (p[b] == 0) {
                continue;
            }
            double pb = p[b] / sp;
            // The last bin can hold outliers that Q (built from unclipped counts) lacks: smooth instead of ∞.
            double qb = sq == 0 ? 0 : q[b] / sq;
            kl += pb * Math.log(pb / Math.max(qb, 1e-12));
        }
        return kl;
    }
}
