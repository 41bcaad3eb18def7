package dev.compresso.engine.runtime.ops;

import dev.compresso.engine.ActivationObserver;
import dev.compresso.engine.DType;
import dev.compresso.engine.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.function.LongFunction;

/** Per-run state of the operators: where outputs come from, threads, observer, opset and where we are (for errors). */
public final class Ctx {
    /** Buffers of at least the requested bytes (the run's pool), or null at load time. */
    private final LongFunction<MemorySegment> buffers;
    final int threads;
    final ActivationObserver observer;
    final String where;
    final long opset;

    /**
     * @param buffers  a buffer of at least the requested bytes, contents undefined (a run's pool), or null for
     *                 fresh GC-managed tensors (load-time constant folding)
     * @param threads  worker threads per kernel call
     * @param observer linear-input observer, or null
     * @param where    file or graph name for messages
     * @param opset    default-domain opset
     */
    public Ctx(LongFunction<MemorySegment> buffers, int threads, ActivationObserver observer, String where, long opset) {
        this.buffers = buffers;
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
        if (buffers == null) {
            return Tensor.allocate(t, shape);
        }
        return Tensor.of(t, shape, buffers.apply(n * t.bytes()));
    }
}
