package dev.compresso.jmh;

import dev.compresso.engine.kernel.Activation;
import dev.compresso.engine.kernel.Int8Mode;
import dev.compresso.engine.kernel.Kernels;
import dev.compresso.engine.weights.Fp32Panels;
import dev.compresso.engine.weights.Panels;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

/** One fp32 {@link Kernels#linear} call on random operands, as an {@link Interleaved} workload ({@code gemmMxNxK}). */
public final class GemmWorkload {
    private GemmWorkload() {}

    /** A call of {@code [m, k] · [n, k]ᵀ} on {@code threads} threads, operands made once. */
    public static Runnable make(int m, int n, int k, int threads) {
        Random r = new Random(1);
        float[] w = new float[Math.multiplyExact(n, k)];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) r.nextGaussian() * 0.05f;
        }
        Fp32Panels packed = Fp32Panels.pack(w, n, k);
        MemorySegment a = Panels.allocate((long) m * k * 4), c = Panels.allocate((long) m * n * 4);
        for (long i = 0; i < (long) m * k; i++) {
            a.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, (float) r.nextGaussian());
        }
        return () -> Kernels.linear(a, m, packed, null, Activation.NONE, c, Int8Mode.AUTO, threads);
    }
}
