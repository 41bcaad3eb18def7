/** Compresso pruning passes; gradual pruning fine-tunes through the distill trainer (its one pass dependency). */
module dev.compresso.prune {
    requires transitive dev.compresso.engine;
    requires transitive dev.compresso.distill;
    exports dev.compresso.prune;
}
