package dev.compresso.distill.train;

import java.util.BitSet;

/**
 * One trainable tensor with its gradient and AdamW moments. Row-sparse parameters (embedding tables) record
 * which rows a step touched, so the optimiser updates only those rows.
 */
public final class Param {
    private final String name;
    private final int rows;
    private final int cols;
    private final boolean decay;
    private final boolean rowSparse;
    final float[] value;
    final float[] grad;
    final float[] m;
    final float[] v;
    final BitSet touched;
    private int version;

    /**
     * @param name      name (unique in a model, used in checkpoints)
     * @param rows      rows (1 for a vector)
     * @param cols      columns
     * @param init      initial values ({@code rows · cols}), copied
     * @param decay     whether AdamW's weight decay applies (matrices yes; biases, norms no)
     * @param rowSparse whether gradients touch only some rows (embedding tables)
     */
    public Param(String name, int rows, int cols, float[] init, boolean decay, boolean rowSparse) {
        this(name, rows, cols, init, decay, rowSparse, true);
    }

    /**
     * @param trainable {@code false} for a frozen parameter (a teacher's): no gradient or optimiser state is
     *                  allocated
     */
    public Param(String name, int rows, int cols, float[] init, boolean decay, boolean rowSparse, boolean trainable) {
        if (rows < 1 || cols < 1 || (long) rows * cols != init.length) {
            throw new IllegalArgumentException("parameter " + name + ": shape [" + rows + ", " + cols + "] holds "
                    + (long) rows * cols + " values, got " + init.length);
        }
        this.name = name;
        this.rows = rows;
        this.cols = cols;
        this.decay = decay;
        this.rowSparse = rowSparse;
        this.value = init.clone();
        this.grad = trainable ? new float[init.length] : null;
        this.m = trainable ? new float[init.length] : null;
        this.v = trainable ? new float[init.length] : null;
        this.touched = rowSparse && trainable ? new BitSet(rows) : null;
    }

    public String name() {
        return name;
    }

    public int rows() {
        return rows;
    }

    public int cols() {
        return cols;
    }

    public int size() {
        return value.length;
    }

    public boolean decays() {
        return decay;
    }

    public boolean trainable() {
        return grad != null;
    }

    public boolean rowSparse() {
        return rowSparse;
    }

    /** The live values (the encoder reads them; change them only through {@link #set} or the optimiser). */
    public float[] values() {
        return value;
    }

    /** The gradient accumulated since the last {@link #zeroGrad}. */
    public float[] gradient() {
        return grad;
    }

    /** Bumped whenever the values change, so cached packed copies know to repack. */
    public int version() {
        return version;
    }

    void changed() {
        version++;
    }

    /** Replaces the values (e.g. after pruning) and marks them changed. */
    public void set(float[] values) {
        if (values.length != value.length) {
            throw new IllegalArgumentException("parameter " + name + ": " + values.length + " values for " + value.length);
        }
        System.arraycopy(values, 0, value, 0, value.length);
        changed();
    }

    /**
     * Sets the values where {@code zero[i]} is true to 0 in place (a pruning mask) and marks the values changed.
     *
     * @throws IllegalArgumentException when the mask's length differs from the parameter's
     */
    public void zeroWhere(boolean[] zero) {
        if (zero.length != value.length) {
            throw new IllegalArgumentException("parameter " + name + ": mask of " + zero.length + " for " + value.length);
        }
        for (int i = 0; i < value.length; i++) {
            if (zero[i]) {
                value[i] = 0f;
            }
        }
        changed();
    }

    /** Marks row {@code r} as touched by this step's gradient (row-sparse parameters). */
    void touch(int r) {
        if (touched != null) {
            touched.set(r);
        }
    }

    /** Clears the gradient (only the touched rows of a row-sparse parameter). */
    public void zeroGrad() {
        if (grad == null) {
            return;
        }
        if (touched != null) {
            for (int r = touched.nextSetBit(0); r >= 0; r = touched.nextSetBit(r + 1)) {
                java.util.Arrays.fill(grad, r * cols, (r + 1) * cols, 0f);
            }
            touched.clear();
        } else {
            java.util.Arrays.fill(grad, 0f);
        }
    }
}
