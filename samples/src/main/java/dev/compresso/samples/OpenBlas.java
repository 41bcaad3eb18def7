package dev.compresso.samples;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

/**
 * OpenBLAS (or any CBLAS) bound through the FFM API: the native baseline rows of {@code kernels} ({@code jmh}
 * has its own binding for its runners). It is benchmark code only — the engine never calls native code.
 * Install with {@code apt-get install -y libopenblas-dev} (Debian/Ubuntu); when no library is found,
 * {@link #load()} returns empty and the OpenBLAS rows are skipped.
 *
 * <p>Weights for OpenBLAS are a dense row-major {@code W[N][K]}; {@link #linear} computes
 * {@code C[M][N] = A[M][K] · Wᵀ} (no bias, no activation) with {@code cblas_sgemm}, or {@code cblas_sgemv}
 * when {@code M = 1}.
 */
final class OpenBlas {
    private static final String[] LIBRARIES = {"libopenblas.so.0", "libopenblas.so", "libcblas.so.3",
            "libopenblas.dylib", "libopenblas.dll"};
    private static final int ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112;
    private static final ValueLayout.OfInt I = ValueLayout.JAVA_INT;
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
    private static final ValueLayout P = ValueLayout.ADDRESS;

    private static volatile Optional<OpenBlas> instance;

    private final MethodHandle sgemm;
    private final MethodHandle sgemv;
    private final MethodHandle setThreads;

    private OpenBlas(SymbolLookup lookup) {
        Linker linker = Linker.nativeLinker();
        this.sgemm = linker.downcallHandle(lookup.find("cblas_sgemm").orElseThrow(),
                FunctionDescriptor.ofVoid(I, I, I, I, I, I, F, P, I, P, I, F, P, I), Linker.Option.critical(false));
        this.sgemv = linker.downcallHandle(lookup.find("cblas_sgemv").orElseThrow(),
                FunctionDescriptor.ofVoid(I, I, I, I, F, P, I, P, I, F, P, I), Linker.Option.critical(false));
        this.setThreads = lookup.find("openblas_set_num_threads")
                .map(s -> linker.downcallHandle(s, FunctionDescriptor.ofVoid(I)))
                .orElse(null);
    }

    /**
     * The first CBLAS library found ({@code libopenblas.so.0}, {@code libopenblas.so}, {@code libcblas.so.3}),
     * or empty when none is installed or none exports {@code cblas_sgemm} and {@code cblas_sgemv}. Needs
     * {@code --enable-native-access=dev.compresso.samples} to run without a warning.
     */
    static Optional<OpenBlas> load() {
        Optional<OpenBlas> o = instance;
        if (o == null) {
            synchronized (OpenBlas.class) {
                o = instance;
                if (o == null) {
                    o = Optional.empty();
                    for (String name : LIBRARIES) {
                        try {
                            o = Optional.of(new OpenBlas(SymbolLookup.libraryLookup(name, Arena.global())));
                            break;
                        } catch (IllegalArgumentException | java.util.NoSuchElementException e) {
                            // not installed under this name, or not a CBLAS: try the next one
                        }
                    }
                    instance = o;
                }
            }
        }
        return o;
    }

    /**
     * Sets OpenBLAS's thread count (process-wide) if the library supports it.
     *
     * @throws IllegalArgumentException if {@code threads < 1}
     */
    void setThreads(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        if (setThreads != null) {
            try {
                setThreads.invokeExact(threads);
            } catch (Throwable t) {
                throw new IllegalStateException("openblas_set_num_threads failed", t);
            }
        }
    }

    /**
     * {@code C = A · Wᵀ}: {@code A} row-major {@code [m, k]}, {@code W} row-major {@code [n, k]}, {@code C}
     * row-major {@code [m, n]}, all native segments of fp32.
     *
     * @throws IllegalArgumentException if a size is negative or a segment is too small or not native
     */
    void linear(MemorySegment a, int m, MemorySegment w, int n, int k, MemorySegment c) {
        if (m < 0 || n < 0 || k < 0) {
            throw new IllegalArgumentException("negative shape [" + m + ", " + n + ", " + k + "]");
        }
        check("A", a, (long) m * k);
        check("W", w, (long) n * k);
        check("C", c, (long) m * n);
        if (m == 0 || n == 0) {
            return;
        }
        try {
            if (m == 1) {
                sgemv.invokeExact(ROW_MAJOR, NO_TRANS, n, k, 1f, w, Math.max(1, k), a, 1, 0f, c, 1);
            } else {
                sgemm.invokeExact(ROW_MAJOR, NO_TRANS, TRANS, m, n, k, 1f, a, Math.max(1, k), w, Math.max(1, k),
                        0f, c, Math.max(1, n));
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    private static void check(String what, MemorySegment s, long floats) {
        if (!s.isNative() || s.byteSize() < floats * 4) {
            throw new IllegalArgumentException(what + " must be a native segment of at least " + floats
                    + " floats, has " + s.byteSize() + " bytes" + (s.isNative() ? "" : " (heap)"));
        }
    }
}
