/** Compresso training engine and knowledge distillation; students are ordinary engine graphs. */
module dev.compresso.distill {
    requires transitive dev.compresso.engine;
    exports dev.compresso.distill;
    exports dev.compresso.distill.train;
}
