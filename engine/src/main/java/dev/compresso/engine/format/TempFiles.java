package dev.compresso.engine.format;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Temporary siblings for atomic writes: {@code .<target>.<pid>-<random>.tmp} in the target's directory. The
 * file is created like any new file (mode {@code 0666} less the umask, not {@code createTempFile}'s private
 * {@code 0600}). A process killed mid-write leaves its temporary file behind; the next write to the same target
 * removes the ones whose writing process is gone (or, when the process cannot be told, that are a day old).
 */
public final class TempFiles {
    /** Age after which a temporary file of an unknown process counts as abandoned. */
    static final Duration ABANDONED = Duration.ofDays(1);

    private TempFiles() {}

    /**
     * Removes abandoned temporary siblings of {@code target}, then creates a fresh empty one.
     *
     * @param target the file that will be replaced
     * @return the new temporary file
     * @throws IOException if the directory does not exist or the file cannot be created (the message names it)
     */
    public static Path create(Path target) throws IOException {
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new NoSuchFileException(target.toString(), null, "the output directory does not exist");
        }
        removeAbandoned(abs);
        String prefix = "." + abs.getFileName() + "." + ProcessHandle.current().pid() + "-";
        for (int attempt = 0; ; attempt++) {
            Path tmp = dir.resolve(prefix + Long.toUnsignedString(ThreadLocalRandom.current().nextLong(), 36) + ".tmp");
            try {
                return Files.createFile(tmp);
            } catch (FileAlreadyExistsException e) {
                if (attempt > 8) {
                    throw e;
                }
            }
        }
    }

    /**
     * Deletes temporary siblings of {@code target} left by processes that no longer run.
     *
     * @param target the target file
     */
    public static void removeAbandoned(Path target) {
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        String prefix = "." + abs.getFileName() + ".";
        if (dir == null) {
            return;
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, p -> {
            String n = p.getFileName().toString();
            return n.startsWith(prefix) && n.endsWith(".tmp");
        })) {
            for (Path p : ds) {
                if (abandoned(p, prefix)) {
                    Files.deleteIfExists(p);
                }
            }
        } catch (IOException | SecurityException e) {
            // best effort: a leftover temporary file is untidy, not wrong
        }
    }

    private static boolean abandoned(Path p, String prefix) throws IOException {
        String rest = p.getFileName().toString().substring(prefix.length());
        int dash = rest.indexOf('-');
        if (dash > 0) {
            try {
                long pid = Long.parseLong(rest.substring(0, dash));
                if (pid != ProcessHandle.current().pid()) {
                    return ProcessHandle.of(pid).map(h -> !h.isAlive()).orElse(true);
                }
                return false;
            } catch (NumberFormatException e) {
                // an older name without a pid (createTempFile's random digits): decide by age
            }
        }
        FileTime t = Files.getLastModifiedTime(p);
        return t.toInstant().isBefore(Instant.now().minus(ABANDONED));
    }
}
