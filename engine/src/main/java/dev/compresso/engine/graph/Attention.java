package dev.compresso.engine.graph;

import java.util.List;
import java.util.Map;

/**
 * Fused multi-head scaled dot-product attention. Inputs {@code [q, k, v]} or {@code [q, k, v, mask]}: q, k
 * and v are {@code [B, S, H·D]} (heads not yet split); the optional mask is an additive fp32 tensor
 * broadcastable to {@code [B, H, S, S]} (e.g. {@code [B, 1, 1, S]} with 0 for tokens and a large negative
 * value for padding). Output {@code [B, S, H·D]} with heads merged:
 * {@code out_h = softmax(q_h · k_hᵀ · scale + mask) · v_h}.
 */
public final class Attention extends Node {
    /** The op name of fused attention nodes. */
    public static final String OP = "Attention";

    private final int heads;
    private final float scale;

    /**
     * @param name   node name
     * @param inputs q, k, v and optionally the additive mask
     * @param output output tensor name
     * @param heads  number of heads H
     * @param scale  factor applied to the scores (usually {@code 1/sqrt(D)})
     * @throws IllegalArgumentException on fewer than 3 or more than 4 inputs or {@code heads < 1}
     */
    public Attention(String name, List<String> inputs, String output, int heads, float scale) {
        super(OP, "", name, inputs, List.of(output), Map.of("num_heads", Attribute.of("num_heads", (long) heads),
                "scale", Attribute.of("scale", scale)));
        if (inputs.size() < 3 || inputs.size() > 4 || heads < 1) {
            throw new IllegalArgumentException("attention " + name + ": needs 3 or 4 inputs and heads >= 1");
        }
        if (!Float.isFinite(scale)) {
            throw new IllegalArgumentException("attention " + name + ": scale must be finite, not " + scale);
        }
        this.heads = heads;
        this.scale = scale;
    }

    /** @return H */
    public int heads() {
        return heads;
    }

    /** @return the score scale */
    public float scale() {
        return scale;
    }

    @Override
    public Attention withValues(List<String> newInputs, List<String> newOutputs) {
        return new Attention(name(), newInputs, newOutputs.get(0), heads(), scale());
    }
}
