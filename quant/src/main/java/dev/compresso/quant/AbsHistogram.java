package dev.compresso.quant;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A streaming histogram of absolute activation values over {@code [0, range]}, for symmetric calibration.
 *
 * <p>The range starts at the first non-zero maximum and grows by powers of two when a larger value arrives;
 * growing by a factor {@code 2^j} merges each run of {@code 2^j} bins into one, so no count is ever split
 * or guessed (the same trick as PyTorch's histogram observer, simplified to exact merges). Memory is
 * constant ({@link #BINS} doubles) however much calibration data is fed.
 */
public final class AbsHistogram {
    /** Number of bins. */
    public static final int BINS = 2048;

    private final double[] counts = new double[BINS];
    private double range;
    private float max;
    private long total;

    /** The bin counts (a copy). */
    public double[] counts() {
        return counts.clone();
    }

    /** Upper edge of the last bin (0 while only zeros were seen). */
    public double range() {
        return range;
    }

    /** Width of one bin. */
    public double binWidth() {
        return range / BINS;
    }

    /** Exact largest absolute value seen. */
    public float max() {
        return max;
    }

    /** Number of values seen. */
    public long total() {
        return total;
    }

    /** Adds {@code values}. */
    public void add(float[] values) {
        float m = 0f;
        for (float v : values) {
            m = Math.max(m, Math.abs(v));
        }
        grow(m);
        for (float v : values) {
            counts[bin(Math.abs(v))]++;
        }
        total += values.length;
    }

    /** Adds {@code count} fp32 values read from {@code x}. */
    public void add(MemorySegment x, long count) {
        float m = 0f;
        for (long i = 0; i < count; i++) {
            m = Math.max(m, Math.abs(x.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i)));
        }
        grow(m);
        for (long i = 0; i < count; i++) {
            counts[bin(Math.abs(x.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i)))]++;
        }
        total += count;
    }

    private int bin(float a) {
        if (range == 0) {
            return 0;
        }
        return (int) Math.min(BINS - 1, (long) (a / range * BINS));
    }

    private void grow(float m) {
        if (!Float.isFinite(m)) {
            throw new QuantizationException("histogram fed a non-finite value " + m);
        }
        max = Math.max(max, m);
        if (m <= range) {
            return;
        }
        if (range == 0) {
            range = m; // only zeros so far, all in bin 0, which stays bin 0
            return;
        }
        int factor = 1;
        while (range * factor < m) {
            factor *= 2;
        }
        if (factor >= BINS) {
            double all = 0;
            for (double c : counts) {
                all += c;
            }
            java.util.Arrays.fill(counts, 0);
            counts[0] = all;
        } else {
            for (int b = 0; b < BINS / factor; b++) {
                double s = 0;
                for (int j = 0; j < factor; j++) {
                    s += counts[b * factor + j];
                }
                counts[b] = s;
            }
            java.util.Arrays.fill(counts, BINS / factor, BINS, 0);
        }
        range *= factor;
    }
}
