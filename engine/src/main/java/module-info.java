/**
 * Compresso engine: packed weights, Vector API kernels, ONNX import and the runtime.
 *
 * <p>{@code jdk.incubator.vector} is optional: without it (no {@code --add-modules}) the engine loads and
 * computes with its scalar kernels, and logs that it does.
 */
module dev.compresso.engine {
    requires static jdk.incubator.vector;
    exports dev.compresso.engine;
    exports dev.compresso.engine.graph;
    exports dev.compresso.engine.weights;
    exports dev.compresso.engine.kernel;
    exports dev.compresso.engine.json;
    exports dev.compresso.engine.format;
    exports dev.compresso.engine.text;
    // The command line's `bench` profile reads the runtime's per-operator timings; nobody else sees the runtime.
    exports dev.compresso.engine.runtime to dev.compresso.samples;
}
