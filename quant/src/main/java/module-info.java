/** Compresso quantization passes: fp16, int8 and int8-static weights in the engine's packed formats. */
module dev.compresso.quant {
    requires transitive dev.compresso.engine;
    requires dev.compresso.distill; // quantization-aware training runs on its trainer
    exports dev.compresso.quant;
}
