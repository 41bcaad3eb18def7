/** The {@code ./compresso} command line: exports nothing, it is an application. */
module dev.compresso.samples {
    requires dev.compresso.engine;
    requires dev.compresso.quant;
    requires dev.compresso.prune;
    requires dev.compresso.distill;
    requires java.management; // the kernels command reports the CPU
}
