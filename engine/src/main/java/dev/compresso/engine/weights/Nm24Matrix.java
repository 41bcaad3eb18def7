package dev.compresso.engine.weights;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * 2:4 sparse weights (N:M with N = 2, M = 4): every group of four consecutive inputs of a channel holds at most
 * two non-zeros, stored as two values and their two positions in the group. Half the multiply-adds of the dense
 * product, a fixed count per group (no row pointers), and two bits of index per stored value.
 *
 * <p>Layout, with {@code G = ceil(K / 4)} groups, {@code G8 = ceil(G / 8)} octets of groups and
 * {@code NP = ceil(N / 16)} panels of {@value #PANEL} channels (channel {@code j} is lane {@code j % 16} of panel
 * {@code j / 16}):
 * <ul>
 *   <li>{@code values}: {@code NP · G · 2 · 16} elements of {@link #valueType()}; slot {@code s} (0, 1) of group
 *       {@code g} of channel {@code j} at element {@code ((p·G + g)·2 + s)·16 + lane};</li>
 *   <li>{@code indices}: {@code NP · G8 · 16} little-endian 32-bit words; word {@code (p·G8 + g/8)·16 + lane}
 *       holds group {@code g}'s nibble at bits {@code 4·(g % 8)}. A nibble is {@code i0 | i1 << 2}, the two
 *       positions in the group with {@code i0 < i1} (six valid nibbles); nibbles past the last group are 0.
 *       One 16-lane int vector load brings eight groups' positions for a panel (no byte-to-int widening);</li>
 *   <li>{@code rowScales}: {@code N} fp32 for int8 values ({@code W = value · scale}), otherwise absent.</li>
 * </ul>
 * A slot whose position is {@code ≥ K} (in the last group when {@code K % 4 ≠ 0}) and every slot of a padding
 * channel ({@code ≥ N}) holds zero. Bytes per stored value: 4.25 (fp32), 2.25 (fp16), 1.25 (int8); against
 * the dense matrix: 0.53, 0.56 (against fp16) and 0.63 (against int8), plus the int8 scales.
 *
 * @param outFeatures N
 * @param inFeatures  K
 * @param valueType   element type of {@code values}
 * @param values      the stored values
 * @param indices     the packed positions
 * @param rowScales   per-channel scales for int8, otherwise {@code null}
 */
public record Nm24Matrix(int outFeatures, int inFeatures, CsrMatrix.ValueType valueType, MemorySegment values,
        MemorySegment indices, MemorySegment rowScales) implements PackedWeights {

    /** Channels per panel. */
    public static final int PANEL = 16;

    /**
     * Validates sizes, every index nibble and the zero slots.
     *
     * @throws IllegalArgumentException naming the first inconsistency
     */
    public Nm24Matrix {
        Panels.checkShape(outFeatures, inFeatures);
        int np = panels(outFeatures), g = groups(inFeatures), g8 = octets(g);
        Panels.checkSize("nm24 values", values, (long) np * g * 2 * PANEL * valueType.bytes);
        Panels.checkSize("nm24 indices", indices, (long) np * g8 * PANEL * 4);
        if (valueType == CsrMatrix.ValueType.INT8) {
            if (rowScales == null) {
                throw new IllegalArgumentException("int8 nm24 needs per-row scales");
            }
            Panels.checkSize("nm24 row scales", rowScales, (long) outFeatures * 4);
        } else if (rowScales != null) {
            throw new IllegalArgumentException(valueType + " nm24 takes no row scales");
        }
        for (int p = 0; p < np; p++) {
            for (int q = 0; q < g8; q++) {
                for (int l = 0; l < PANEL; l++) {
                    long wi = ((long) p * g8 + q) * PANEL + l;
                    int word = indices.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, wi);
                    int j = p * PANEL + l;
                    for (int h = 0; h < 8; h++) {
                        int grp = 8 * q + h;
                        int nib = (word >>> (4 * h)) & 15;
                        if (grp >= g) {
                            if (nib != 0) {
                                throw new IllegalArgumentException("nm24 index word " + wi + ": nibble " + h
                                        + " past the last group must be 0, is " + nib);
                            }
                            continue;
                        }
                        int i0 = nib & 3, i1 = nib >>> 2;
                        if (i0 >= i1) {
                            throw new IllegalArgumentException("nm24 channel " + j + " group " + grp + ": index nibble "
                                    + nib + " does not name two increasing positions");
                        }
                        for (int s = 0; s < 2; s++) {
                            int pos = 4 * grp + (s == 0 ? i0 : i1);
                            if ((j >= outFeatures || pos >= inFeatures) && !zero(values, valueType, slot(p, g, grp, s, l))) {
                                throw new IllegalArgumentException("nm24 channel " + j + " position " + pos
                                        + ": padding slot must be zero (N=" + outFeatures + ", K=" + inFeatures + ")");
                            }
                        }
                    }
                }
            }
        }
    }

    private static boolean zero(MemorySegment v, CsrMatrix.ValueType t, long e) {
        return switch (t) {
            case FP32 -> v.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, e) == 0; // +0 only
            case FP16 -> v.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, e) == 0;
            case INT8 -> v.get(ValueLayout.JAVA_BYTE, e) == 0;
        };
    }

    /** Element index of slot {@code s} of group {@code g} in lane {@code l} of panel {@code p}. */
    private static long slot(int p, int groups, int g, int s, int l) {
        return (((long) p * groups + g) * 2 + s) * PANEL + l;
    }

    /** Panels for {@code n} channels. */
    public static int panels(int n) {
        return (n + PANEL - 1) / PANEL;
    }

    /** Groups of four inputs for {@code k} inputs. */
    public static int groups(int k) {
        return (k + 3) / 4;
    }

    /** Index words per panel row: {@code ceil(g / 8)} for {@code g} groups. */
    public static int octets(int g) {
        return (g + 7) / 8;
    }

    /** Position (0..3) in group {@code g} of slot {@code s} of channel {@code j}. */
    public int position(int j, int g, int s) {
        int g8 = octets(groups(inFeatures));
        int word = indices.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, ((long) (j / PANEL) * g8 + g / 8) * PANEL + j % PANEL);
        int nib = (word >>> (4 * (g % 8))) & 15;
        return s == 0 ? nib & 3 : nib >>> 2;
    }

    /** Value of slot {@code s} of group {@code g} of channel {@code j}, dequantized to fp32. */
    public float value(int j, int g, int s) {
        long e = slot(j / PANEL, groups(inFeatures), g, s, j % PANEL);
        return switch (valueType) {
            case FP32 -> values.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, e);
            case FP16 -> Float.float16ToFloat(values.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, e));
            case INT8 -> values.get(ValueLayout.JAVA_BYTE, e) * rowScales.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, j);
        };
    }

    /**
     * Packs a row-major dense {@code W[n][k]}, keeping in every group of four inputs the two entries of largest
     * magnitude (the lower position first on ties): exact when {@code w} already is 2:4 sparse, a magnitude prune
     * otherwise. For int8 each channel is quantized symmetrically to [-127, 127] with its own scale.
     *
     * @throws IllegalArgumentException if {@code w.length != n·k} or a dimension is negative
     */
    public static Nm24Matrix fromDense(float[] w, int n, int k, CsrMatrix.ValueType type) {
        Panels.checkDense(w, n, k);
        int np = panels(n), g = groups(k), g8 = octets(g);
        long nv = (long) np * g * 2 * PANEL, ni = (long) np * g8 * PANEL * 4;
        MemorySegment vals = Panels.allocate(Math.max(1, nv * type.bytes)).asSlice(0, nv * type.bytes);
        MemorySegment idx = Panels.allocate(Math.max(1, ni)).asSlice(0, ni);
        MemorySegment rs = type == CsrMatrix.ValueType.INT8 ? Panels.allocate((long) n * 4).asSlice(0, (long) n * 4) : null;
        float[] kept = new float[2];
        for (int j = 0; j < n; j++) {
            int p = j / PANEL, l = j % PANEL;
            float scale = 1f;
            if (rs != null) {
                float max = 0f;
                for (int grp = 0; grp < g; grp++) {
                    int[] pos = pick(w, j, k, grp);
                    for (int s = 0; s < 2; s++) {
                        max = Math.max(max, Math.abs(at(w, j, k, 4 * grp + pos[s])));
                    }
                }
                scale = max == 0f ? 1f : max / 127f;
                rs.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, j, max == 0f ? 0f : scale);
            }
            for (int grp = 0; grp < g; grp++) {
                int[] pos = pick(w, j, k, grp);
                long wi = ((long) p * g8 + grp / 8) * PANEL + l;
                int nib = pos[0] | pos[1] << 2;
                idx.setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, wi,
                        idx.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, wi) | nib << (4 * (grp % 8)));
                kept[0] = at(w, j, k, 4 * grp + pos[0]);
                kept[1] = at(w, j, k, 4 * grp + pos[1]);
                for (int s = 0; s < 2; s++) {
                    long e = slot(p, g, grp, s, l);
                    float v = kept[s];
                    switch (type) {
                        case FP32 -> vals.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, e, v == 0f ? 0f : v);
                        case FP16 -> vals.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, e, v == 0f ? 0 : Float.floatToFloat16(v));
                        case INT8 -> vals.set(ValueLayout.JAVA_BYTE, e, (byte) Math.max(-127, Math.min(127, Math.round(v / scale))));
                    }
                }
            }
        }
        // Padding channels: a valid nibble (positions 0 and 1) over zero values.
        for (int j = n; j < np * PANEL; j++) {
            for (int grp = 0; grp < g; grp++) {
                long wi = ((long) (j / PANEL) * g8 + grp / 8) * PANEL + j % PANEL;
                idx.setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, wi,
                        idx.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, wi) | 4 << (4 * (grp % 8)));
            }
        }
        return new Nm24Matrix(n, k, type, vals, idx, rs);
    }

    /** {@code W[j][c]}, 0 past the last input. */
    private static float at(float[] w, int j, int k, int c) {
        return c < k ? w[j * k + c] : 0f;
    }

    /** The two positions of group {@code g} of channel {@code j} to keep, increasing. */
    private static int[] pick(float[] w, int j, int k, int g) {
        int a = -1, b = -1;
        for (int i = 0; i < 4; i++) {
            float m = Math.abs(at(w, j, k, 4 * g + i));
            if (a < 0 || m > Math.abs(at(w, j, k, 4 * g + a))) {
                b = a;
                a = i;
            } else if (b < 0 || m > Math.abs(at(w, j, k, 4 * g + b))) {
                b = i;
            }
        }
        return a < b ? new int[] {a, b} : new int[] {b, a};
    }

    @Override
    public String format() {
        return "nm24-" + valueType.name().toLowerCase(java.util.Locale.ROOT);
    }

    @Override
    public List<Part> parts() {
        int np = panels(outFeatures), g = groups(inFeatures);
        List<Part> ps = new ArrayList<>();
        ps.add(new Part("values", valueType.dtype, new long[] {np, g, 2, PANEL}, values));
        ps.add(new Part("indices", "U32", new long[] {np, octets(g), PANEL}, indices));
        if (rowScales != null) {
            ps.add(new Part("row_scales", "F32", new long[] {outFeatures}, rowScales));
        }
        return List.copyOf(ps);
    }

    @Override
    public float[] toDense() {
        float[] w = new float[outFeatures * inFeatures];
        int g = groups(inFeatures);
        for (int j = 0; j < outFeatures; j++) {
            for (int grp = 0; grp < g; grp++) {
                for (int s = 0; s < 2; s++) {
                    int c = 4 * grp + position(j, grp, s);
                    if (c < inFeatures) {
                        w[j * inFeatures + c] = value(j, grp, s);
                    }
                }
            }
        }
        return w;
    }
}
