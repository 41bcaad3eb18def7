/**
 * The runtime's operators: one class per ONNX operator or family of operators that share code
 * ({@code BinaryOp}, {@code ReshapeOps}, {@code QuantOps}, …) and one per fused engine operator
 * ({@code LinearOp}, {@code LayerNormOp}, {@code AttentionOp}, {@code FakeQuantOp}), each an
 * {@link dev.compresso.engine.runtime.ops.Operator}. {@link dev.compresso.engine.runtime.ops.Operators} is the
 * one list of what the engine runs; validation, import and the plan all ask it. Broadcasting and strides are in
 * {@code Shapes}, typed element access in {@link dev.compresso.engine.runtime.ops.Vals}, the per-run state in
 * {@link dev.compresso.engine.runtime.ops.Ctx}.
 *
 * <p>Not exported: users reach the operators through {@code Model} and {@code Session}.
 */
package dev.compresso.engine.runtime.ops;
