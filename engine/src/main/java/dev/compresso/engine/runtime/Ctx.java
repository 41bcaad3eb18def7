package dev.compresso.engine.runtime;

import dev.compresso.engine.ActivationObserver;
import dev.compresso.engine.DType;
import dev.compresso.engine.Tensor;

/** Per-run state: the buffer pool, threads, observer, opset and where we are (for errors). */
final class Ctx {
    final Plan.Pool pool;
    final int threads;
    final ActivationObserver observer;
    final String where;
    final long opset;

    Ctx(Plan.Pool pool, int threads, ActivationObserver observer, String where, long opset) {
        this.pool = pool;
        this.threads = threads;
        this.observer = observer;
        this.where = where;
        this.opset = opset;
    }

    /** Like {@link #alloc} but zero-filled. */
    Tensor allocZeroed(DType t, long[] shape) {
        Tensor x = alloc(t, shape);
        x.data().fill((byte) 0);
        return x;
    }

    /** A tensor from the pool, contents undefined (the op must write every element) (or a fresh GC-managed one at load time, when there is no pool). */
    Tensor alloc(DType t, long[] shape) {
        long n = Tensor.count(shape);
        if (pool == null) {
            return Tensor.allocate(t, shape);
        }
        return Tensor.of(t, shape, pool.allocate(n * t.bytes()));
    }
}
