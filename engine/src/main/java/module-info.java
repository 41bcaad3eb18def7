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
    exports dev.compresso.engine.text;
    // Not API: the project's own modules only. Users save with Model.save and read JSON with their own library.
    exports dev.compresso.engine.json to dev.compresso.samples, dev.compresso.jmh;
    exports dev.compresso.engine.format to dev.compresso.samples, dev.compresso.jmh;
    // dev.compresso.engine.onnx, .runtime and .runtime.ops are internal: Model.load, Session and SessionOptions
    // are their API.
}
