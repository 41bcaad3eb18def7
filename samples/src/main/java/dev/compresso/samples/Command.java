package dev.compresso.samples;

import java.io.PrintStream;

/** One subcommand of {@code ./compresso}. */
interface Command {
    /** The subcommand's name, e.g. {@code "kernels"}. */
    String name();

    /** One usage line, e.g. {@code "kernels [--quick] [--json]"}. */
    String usage();

    /**
     * Runs the command.
     *
     * @throws UsageException on bad arguments (exit 2)
     * @throws Exception      any other failure (exit 1, one line on stderr)
     */
    void run(Args args, PrintStream out) throws Exception;
}
