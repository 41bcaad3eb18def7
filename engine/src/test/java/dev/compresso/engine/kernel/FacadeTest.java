package dev.compresso.engine.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.compresso.engine.weights.Fp32Panels;
import dev.compresso.engine.weights.Panels;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;

class FacadeTest {

    @Test
    void providerMatchesTheForcedProperty() {
        String forced = System.getProperty("compresso.kernels", "");
        if (forced.equals("scalar")) {
            assertEquals("scalar", Kernels.provider());
        } else {
            assertTrue(Kernels.provider().equals("panama") || Kernels.provider().equals("scalar"));
        }
    }

    @Test
    void linearAgreesWithDenseProductOnAPrimeShape() {
        int m = 7, n = 17, k = 13;
        Random r = new Random(1);
        float[] w = new float[n * k];
        float[] a = new float[m * k];
        for (int i = 0; i < w.length; i++) w[i] = r.nextFloat() - 0.5f;
        for (int i = 0; i < a.length; i++) a[i] = r.nextFloat() - 0.5f;
        MemorySegment as = Panels.allocate(a.length * 4L);
        MemorySegment.copy(a, 0, as, ValueLayout.JAVA_FLOAT, 0, a.length);
        MemorySegment c = Panels.allocate((long) m * n * 4);
        Kernels.linear(as, m, Fp32Panels.pack(w, n, k), null, Activation.RELU, c);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double e = 0;
                for (int kk = 0; kk < k; kk++) e += (double) a[i * k + kk] * w[j * k + kk];
                assertEquals(Math.max(0, e), Kernels.getFloat(c, (long) i * n + j), 1e-5, "C[" + i + "][" + j + "]");
            }
        }
    }

    @Test
    void shapeMismatchNamesBothShapes() {
        var w = Fp32Panels.pack(new float[6], 2, 3);
        var ex = assertThrows(IllegalArgumentException.class,
                () -> Kernels.linear(Panels.allocate(8), 1, w, null, Activation.NONE, Panels.allocate(8)));
        assertTrue(ex.getMessage().contains("[1, 3]") && ex.getMessage().contains("[2, 3]"), ex.getMessage());
    }
}
