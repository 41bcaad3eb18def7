package dev.compresso.engine.weights;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * fp32 weights in the {@linkplain Panels panel layout}: 4 bytes per element, little-endian IEEE binary32,
 * {@code panelCount(N) · 16 · K} elements.
 *
 * @param outFeatures N
 * @param inFeatures  K
 * @param data        the panels
 */
public record Fp32Panels(int outFeatures, int inFeatures, MemorySegment data) implements PackedWeights {

    public Fp32Panels {
        Panels.checkShape(outFeatures, inFeatures);
        Panels.checkSize("fp32 panels", data, Panels.elementCount(outFeatures, inFeatures) * 4);
    }

    /** Packs a row-major dense {@code W[n][k]}. */
    public static Fp32Panels pack(float[] w, int n, int k) {
        Panels.checkDense(w, n, k);
        MemorySegment d = Panels.allocate(Panels.elementCount(n, k) * 4);
        for (int r = 0; r < n; r++) {
            for (int c = 0; c < k; c++) {
                d.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, Panels.index(r, c, k), w[r * k + c]);
            }
        }
        return new Fp32Panels(n, k, d);
    }

    /** {@code W[n][k]}. */
    public float get(int n, int k) {
        return data.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, Panels.index(n, k, inFeatures));
    }

    @Override
    public String format() {
        return "fp32-panels";
    }

    @Override
    public List<Part> parts() {
        return List.of(new Part("data", "F32", new long[] {Panels.elementCount(outFeatures, inFeatures)}, data));
    }

    @Override
    public float[] toDense() {
        float[] w = new float[outFeatures * inFeatures];
        for (int r = 0; r < outFeatures; r++) {
            for (int c = 0; c < inFeatures; c++) {
                w[r * inFeatures + c] = get(r, c);
            }
        }
        return w;
    }
}
