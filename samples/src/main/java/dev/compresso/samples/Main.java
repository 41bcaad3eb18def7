package dev.compresso.samples;

import java.io.PrintStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code ./compresso}: exit 0 on success, 2 on a usage error (message and usage on stderr), 1 on any other
 * failure with one line on stderr naming what is at fault; stack traces only with {@code --verbose}.
 */
public final class Main {

    /** Switches (options without a value) every command may take. */
    static final Set<String> FLAGS = Set.of("verbose", "json", "quick", "help", "per-tensor", "hard-baseline", "no-truncate", "profile", "crops", "no-crops", "train-embeddings", "no-prune");

    private static final Map<String, Command> COMMANDS = new LinkedHashMap<>();

    static {
        for (Command c : List.<Command>of(
                new EmbedCommand(),
                new InspectCommand(),
                new BenchCommand(),
                new KernelsCommand(),
                new QuantizeCommand(),
                new PruneCommand(),
                new EvalCommand(),
                new DistillCommand(),
                new CorpusCommand(),
                new DemoCommand())) {
            COMMANDS.put(c.name(), c);
        }
    }

    private Main() {}

    public static void main(String[] argv) {
        System.exit(run(argv, System.out, System.err));
    }

    static int run(String[] argv, PrintStream out, PrintStream err) {
        boolean verbose = Arrays.asList(argv).contains("--verbose");
        if (argv.length == 0 || argv[0].equals("--help") || argv[0].equals("help")) {
            usage(argv.length == 0 ? err : out);
            return argv.length == 0 ? 2 : 0;
        }
        Command cmd = COMMANDS.get(argv[0]);
        if (cmd == null) {
            err.println("compresso: unknown command '" + argv[0] + "'");
            usage(err);
            return 2;
        }
        try {
            Args args = new Args(List.of(argv).subList(1, argv.length), FLAGS);
            args.flag("verbose");
            if (args.flag("help")) {
                out.println("usage: compresso " + cmd.usage());
                return 0;
            }
            cmd.run(args, out);
            out.flush();
            return 0;
        } catch (UsageException e) {
            err.println("compresso " + cmd.name() + ": " + e.getMessage());
            err.println("usage: compresso " + cmd.usage());
            return 2;
        } catch (Exception | OutOfMemoryError | StackOverflowError e) {
            String msg = describe(e);
            err.println("compresso " + cmd.name() + ": " + msg.lines().findFirst().orElse(msg));
            if (verbose) {
                e.printStackTrace(err);
            }
            return 1;
        }
    }

    /**
     * The message of a failure, completed when the JDK gives only a path (a {@link FileSystemException}
     * without a reason, e.g. {@code NoSuchFileException: out/x.json}): then it says what is wrong with it.
     */
    static String describe(Throwable e) {
        if (e instanceof FileSystemException f && f.getReason() == null) {
            String what = switch (f) {
                case NoSuchFileException n -> "no such file or directory";
                case AccessDeniedException a -> "permission denied";
                case FileAlreadyExistsException x -> "already exists";
                case NotDirectoryException d -> "not a directory";
                case DirectoryNotEmptyException d -> "directory not empty";
                default -> f.getClass().getSimpleName();
            };
            String file = f.getFile() == null ? "" : f.getFile() + ": ";
            String other = f.getOtherFile() == null ? "" : " (to " + f.getOtherFile() + ")";
            return file + what + other;
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }

    static void usage(PrintStream s) {
        s.println("usage: compresso <command> [options]   (--verbose for stack traces)");
        for (Command c : COMMANDS.values()) {
            s.println("  " + c.usage());
        }
    }
}
