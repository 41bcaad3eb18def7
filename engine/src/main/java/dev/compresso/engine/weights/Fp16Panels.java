package dev.compresso.engine.weights;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * fp16 weights in the {@linkplain Panels panel layout}: 2 bytes per element, little-endian IEEE binary16
 * bits, {@code panelCount(N) · 16 · K} elements. Packing rounds to nearest even
 * ({@link Float#floatToFloat16}); kernels widen exactly ({@link Float#float16ToFloat}).
 *
 * @param outFeatures N
 * @param inFeatures  K
 * @param data        the panels
 */
public record Fp16Panels(int outFeatures, int inFeatures, MemorySegment data) implements PackedWeights {

    public Fp16Panels {
        Panels.checkShape(outFeatures, inFeatures);
        Panels.checkSize("fp16 panels", data, Panels.elementCount(outFeatures, inFeatures) * 2);
    }

    /** Packs a row-major dense {@code W[n][k]}, rounding each weight to the nearest binary16. */
    public static Fp16Panels pack(float[] w, int n, int k) {
        Panels.checkDense(w, n, k);
        MemorySegment d = Panels.allocate(Panels.elementCount(n, k) * 2);
        for (int r = 0; r < n; r++) {
            for (int c = 0; c < k; c++) {
                d.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, Panels.index(r, c, k), Float.floatToFloat16(w[r * k + c]));
            }
        }
        return new Fp16Panels(n, k, d);
    }

    /** {@code W[n][k]} widened to fp32. */
    public float get(int n, int k) {
        return Float.float16ToFloat(data.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, Panels.index(n, k, inFeatures)));
    }

    @Override
    public String format() {
        return "fp16-panels";
    }

    @Override
    public List<Part> parts() {
        return List.of(new Part("data", "F16", new long[] {Panels.elementCount(outFeatures, inFeatures)}, data));
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
