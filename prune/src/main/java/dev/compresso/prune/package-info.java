/** Compresso prune passes: produce the engine's packed weight types. */
package dev.compresso.prune;
