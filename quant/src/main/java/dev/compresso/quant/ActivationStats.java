package dev.compresso.quant;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Calibration statistics of one linear layer's input: a histogram of |x| (for the activation range) and the
 * per-input-channel maximum |x_j| (for SmoothQuant).
 */
public final class ActivationStats {
    private final String layer;
    private final AbsHistogram histogram = new AbsHistogram();
    private float[] channelMax;
    private long rows;

    /**
     * @param layer layer name, used in error messages
     */
    public ActivationStats(String layer) {
        this.layer = layer;
    }

    /**
     * Adds a batch of activations {@code [rows, cols]} (row-major fp32).
     *
     * @throws QuantizationException    on NaN or infinite activations (naming the layer, row and column)
     * @throws IllegalArgumentException if {@code cols} differs from an earlier batch or the segment is too small
     */
    public void observe(MemorySegment x, int rows, int cols) {
        if (x.byteSize() < (long) rows * cols * 4) {
            throw new IllegalArgumentException("layer '" + layer + "': activation segment smaller than [" + rows + ", " + cols + "]");
        }
        if (channelMax == null) {
            channelMax = new float[cols];
        } else if (channelMax.length != cols) {
            throw new IllegalArgumentException("layer '" + layer + "' input had " + channelMax.length
                    + " features, now " + cols);
        }
        Checks.finiteActivations(layer, x, rows, cols);
        histogram.add(x, (long) rows * cols);
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                float a = Math.abs(x.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, (long) r * cols + c));
                if (a > channelMax[c]) {
                    channelMax[c] = a;
                }
            }
        }
        this.rows += rows;
    }

    /** Layer name. */
    public String layer() {
        return layer;
    }

    /** The |x| histogram. */
    public AbsHistogram histogram() {
        return histogram;
    }

    /** Per input channel maximum |x_j| (a copy), or an empty array before any batch. */
    public float[] channelMax() {
        return channelMax == null ? new float[0] : channelMax.clone();
    }

    /** Rows (tokens) observed. */
    public long rows() {
        return rows;
    }

    /**
     * The static int8 activation scale {@code t / 127} with {@code t} from {@code estimator}.
     *
     * @throws IllegalStateException if nothing was observed for this layer
     */
    public float scale(RangeEstimator estimator) {
        if (rows == 0) {
            throw new IllegalStateException("layer '" + layer + "' saw no calibration data");
        }
        return estimator.threshold(histogram) / Int8Weights.QMAX;
    }
}
