/**
 * Knowledge distillation: a smaller student encoder trained to match a teacher on unlabelled (or labelled)
 * text, written back as an engine graph that the runtime, {@code quant} and {@code prune} take like any model.
 * The training engine itself is {@link dev.compresso.distill.train}.
 */
package dev.compresso.distill;
