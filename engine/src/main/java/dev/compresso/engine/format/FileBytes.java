package dev.compresso.engine.format;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/**
 * How model files are brought into memory: mapped read-only (the default: loading costs no copy and the page
 * cache is shared between processes), or copied into memory with {@code -Dcompresso.load=copy}, after which
 * the file may change or vanish without effect on the loaded model.
 *
 * <p>The mapped-file contract: a mapped file must not be truncated or rewritten in place while a model loaded
 * from it is in use. Replacing it by rename (what Compresso's own writers and most downloaders do) is safe:
 * the mapping keeps the old file's bytes. A session checks before each run that the file it came from has not
 * shrunk or changed in place, and fails with a {@link dev.compresso.engine.ModelException} instead of reading
 * a truncated mapping (which would crash the JVM with SIGBUS); a change racing with a run is not caught.
 */
public final class FileBytes {
    private FileBytes() {}

    /** @return whether {@code -Dcompresso.load=copy} asks to read model files into memory instead of mapping them */
    public static boolean copy() {
        return "copy".equals(System.getProperty("compresso.load", "map"));
    }

    /**
     * The bytes of an open file: a read-only mapping, or a copy when {@link #copy()}, in an automatic arena
     * (valid while any slice of it is reachable).
     *
     * @param ch   the channel, open for reading
     * @param size bytes to bring in, from offset 0
     * @param path the file, for messages
     * @return the bytes
     * @throws IOException when reading fails or the file is shorter than {@code size}
     */
    public static MemorySegment of(FileChannel ch, long size, Path path) throws IOException {
        return of(ch, size, path, Arena.ofAuto());
    }

    /**
     * The bytes of an open file, a read-only mapping or a copy when {@link #copy()}, in {@code arena}: closing
     * the arena unmaps (or frees) them at once, and any later access throws {@link IllegalStateException}.
     *
     * @param ch    the channel, open for reading
     * @param size  bytes to bring in, from offset 0
     * @param path  the file, for messages
     * @param arena the arena that owns the bytes (a model's)
     * @return the bytes
     * @throws IOException when reading fails or the file is shorter than {@code size}
     */
    public static MemorySegment of(FileChannel ch, long size, Path path, Arena arena) throws IOException {
        if (!copy()) {
            return ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
        }
        MemorySegment seg = arena.allocate(Math.max(1, size), 64).asSlice(0, size);
        long pos = 0;
        while (pos < size) {
            ByteBuffer b = seg.asSlice(pos, Math.min(size - pos, 1 << 30)).asByteBuffer();
            int n = ch.read(b, pos);
            if (n < 0) {
                throw new IOException(path + ": file shrank to " + pos + " bytes while it was read");
            }
            pos += n;
        }
        return seg;
    }
}
