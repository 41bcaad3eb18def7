/**
 * The training engine: trainable parameters, a BERT-family encoder with its forward and backward passes (over
 * {@link dev.compresso.engine.kernel.Backward}'s kernels), losses, AdamW with a learning-rate schedule, and
 * atomic checkpoints. It trains the fused IR's operators (embedding, linear, layer norm, attention, GELU,
 * residual add, pooling), never the ONNX interpreter's.
 */
package dev.compresso.distill.train;
