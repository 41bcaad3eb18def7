package dev.compresso.engine.runtime.ops;

import static dev.compresso.engine.runtime.ops.Operator.fail;
import static dev.compresso.engine.runtime.ops.Vals.F;

import dev.compresso.engine.DType;
import dev.compresso.engine.Tensor;
import dev.compresso.engine.graph.Node;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * The fused dynamic fake-quantization ONNX Runtime's int8 models imply: per-tensor asymmetric uint8
 * quantization ({@code DynamicQuantizeLinear}) immediately dequantized, so the following {@code Linear} with
 * int8 weights reproduces {@code MatMulInteger} exactly up to fp32 rounding.
 */
final class FakeQuantOp implements Operator {
    /** Op name of the operator (domain {@code dev.compresso}). */
    static final String FAKE_QUANT = "DynamicFakeQuant";

    @Override
    public List<String> names() {
        return List.of(FAKE_QUANT);
    }

    @Override
    public Tensor[] forward(Node n, Tensor[] in, Ctx c) {
        return new Tensor[] {fakeQuant(in[0], c)};
    }

    static Tensor fakeQuant(Tensor x, Ctx c) {
        if (x.dtype() != DType.FLOAT) {
            throw fail(FAKE_QUANT + " of " + x.dtype());
        }
        long n = x.size();
        float[] p = QuantOps.dynamicParams(x.data(), n);
        float scale = p[0], zp = p[1];
        Tensor y = c.alloc(DType.FLOAT, x.shape());
        MemorySegment s = x.data(), d = y.data();
        for (long i = 0; i < n; i++) {
            float q = scale == 0f ? zp : Math.clamp((float) Math.rint(s.getAtIndex(F, i) / scale) + zp, 0f, 255f);
            d.setAtIndex(F, i, (q - zp) * scale);
        }
        return y;
    }
}
