/**
 * Compresso benchmarks: JMH benchmarks and the side-by-side runners (ONNX Runtime, OpenBLAS as baselines).
 *
 * <p>The module declaration checks at compile time what the benchmarks may use (the engine's public API, the
 * model-file format and JSON reader it exports to this module, quant). Benchmarks still run from the class path:
 * JMH 1.37 starts its forked JVMs with the parent's class path only, and loads the generated benchmark classes by
 * name.
 */
module dev.compresso.jmh {
    requires dev.compresso.engine;
    requires dev.compresso.quant;
    requires jmh.core;
    requires com.microsoft.onnxruntime;
    exports dev.compresso.jmh;
    opens dev.compresso.jmh;
}
