/** Compresso distill passes: produce the engine's packed weight types. */
package dev.compresso.distill;
