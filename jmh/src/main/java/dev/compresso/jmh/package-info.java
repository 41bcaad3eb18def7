/** JMH benchmarks: one class per kernel family, plus end-to-end model benchmarks against ONNX Runtime. */
package dev.compresso.jmh;
