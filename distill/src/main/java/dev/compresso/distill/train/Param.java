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
    /** The values; {@code null} once a frozen parameter's owner has {@linkplain #release() released} them. */
    float[] value;
    float[] grad;
    float[] m;
    float[] v;
    BitSet touched;
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
        this(name, rows, cols, init, decay, rowSparse, trainable, true);
    }

    /**
     * @param copy {@code false} to adopt {@code init} itself (frozen parameters only: a teacher's arrays, or a
     *             table a student shares with its teacher); it must not change afterwards
     */
    Param(String name, int rows, int cols, float[] init, boolean decay, boolean rowSparse, boolean trainable,
            boolean copy) {
        if (rows < 1 || cols < 1 || (long) rows * cols != init.length) {
            throw new IllegalArgumentException("parameter " + name + ": shape [" + rows + ", " + cols + "] holds "
                    + (long) rows * cols + " values, got " + init.length);
        }
        this.name = name;
        this.rows = rows;
        this.cols = cols;
        this.decay = decay;
        this.rowSparse = rowSparse;
        if (!copy && trainable) {
            throw new IllegalArgumentException("parameter " + name + ": only a frozen parameter may share its values");
        }
        this.value = copy ? init.clone() : init;
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
        return rows * cols;
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

    /**
     * The live values (the encoder reads them; change them only through {@link #set} or the optimiser).
     *
     * @throws IllegalStateException when the parameter is frozen and its values were released after packing
     */
    public float[] values() {
        return live();
    }

    private float[] live() {
        if (value == null) {
            throw new IllegalStateException("parameter " + name + " is frozen and keeps only its packed form");
        }
        return value;
    }

    /**
     * Drops a frozen parameter's values once its owner keeps them in another form (a frozen linear layer's packed
     * panels): a teacher then holds one copy of its weights, not two.
     */
    void release() {
        if (grad != null) {
            throw new IllegalStateException("parameter " + name + " is trainable; its values cannot be released");
        }
        value = null;
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
        float[] value = live();
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
        float[] value = live();
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

    /** Drops the gradient and the optimiser's moments at the end of training; the parameter is frozen from then on. */
    void dropTrainingState() {
        grad = null;
        m = null;
        v = null;
        touched = null;
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
