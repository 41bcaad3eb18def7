package dev.compresso.samples;

import dev.compresso.engine.format.TempFiles;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Writes a file through a temporary sibling and a rename, so readers never see a partial file. The temporary
 * name and its clean-up are {@link TempFiles}'s.
 */
final class AtomicFiles {
    private AtomicFiles() {}

    /** What writes the content. */
    @FunctionalInterface
    interface Writer {
        void write(OutputStream out) throws Exception;
    }

    /**
     * Writes {@code target} atomically: a failure leaves any previous file untouched.
     *
     * @throws Exception whatever the writer or the file system throws; the temporary file is removed
     */
    static void write(Path target, Writer writer) throws Exception {
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new java.nio.file.NoSuchFileException(target.toString(), null, "its directory does not exist");
        }
        // Not createTempFile: its files are private (0600); an output is an ordinary file (0666 less the umask).
        // Temporaries of killed runs are removed here.
        Path tmp = TempFiles.create(abs);
        try {
            try (OutputStream out = Files.newOutputStream(tmp)) {
                writer.write(out);
            }
            try {
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

}
