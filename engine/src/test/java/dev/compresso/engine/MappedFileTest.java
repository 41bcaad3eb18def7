package dev.compresso.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The mapped-file contract (reliability defect 3) and a load/close loop that must not leak direct memory,
 * mappings or file descriptors.
 */
class MappedFileTest {
    @TempDir
    static Path dir;
    static Path cmpr;
    static final Map<String, Tensor> IN = Oracle.bertInputs(new int[] {9, 4}, 3);

    @BeforeAll
    static void save() throws Exception {
        cmpr = dir.resolve("minilm.cmpr");
        try (Model m = Model.load(Oracle.resource("all-minilm-l6-v2.onnx"))) {
            m.save(cmpr);
        }
    }

    static float[] run(Model m) throws ModelException {
        try (Session s = m.newSession()) {
            return s.run(IN).values().iterator().next().toFloatArray();
        }
    }

    @Test
    void replacedByRenameKeepsWorking() throws Exception {
        Path p = Files.copy(cmpr, dir.resolve("renamed.cmpr"));
        Model m = Model.load(p);
        float[] before = run(m);
        Path other = Files.write(dir.resolve("other.tmp"), new byte[] {1, 2, 3});
        Files.move(other, p, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        assertArrayEquals(before, run(m));
        Files.delete(p);
        assertArrayEquals(before, run(m));
    }

    @Test
    void truncatedInPlaceFailsCleanly() throws Exception {
        Path p = Files.copy(cmpr, dir.resolve("truncated.cmpr"));
        Model m = Model.load(p);
        run(m);
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
            ch.truncate(4096);
        }
        // Reading the mapping now would be SIGBUS; the session refuses first. (m is not used again.)
        ModelException e = assertThrows(ModelException.class, () -> run(m));
        assertTrue(e.getMessage().contains("truncated") && e.getMessage().contains(p.toString()), e.getMessage());
    }

    @Test
    void copiedModelsIgnoreTheFile() throws Exception {
        Path p = Files.copy(cmpr, dir.resolve("copied.cmpr"));
        Path onnx = Files.copy(Oracle.resource("all-minilm-l6-v2.onnx"), dir.resolve("copied.onnx"));
        System.setProperty("compresso.load", "copy");
        Model m, o;
        try {
            m = Model.load(p);
            o = Model.load(onnx);
        } finally {
            System.clearProperty("compresso.load");
        }
        float[] before = run(m), onnxBefore = run(o);
        for (Path f : new Path[] {p, onnx}) {
            try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
                ch.truncate(10);
            }
        }
        assertArrayEquals(before, run(m));
        assertArrayEquals(onnxBefore, run(o));
    }

    @Test
    void loadCloseLoopLeaksNothing() throws Exception {
        for (int i = 0; i < 3; i++) { // warm-up: class loading, kernel pools, JIT
            run(Model.load(cmpr));
        }
        long fds = fds(), direct = SessionSoakTest.direct();
        for (int i = 0; i < 25; i++) {
            try (Model m = Model.load(cmpr)) {
                run(m);
            }
        }
        long maps = -1;
        for (int i = 0; i < 40 && (maps = mappings(cmpr)) > 4; i++) {
            System.gc();
            Thread.sleep(50);
        }
        long directAfter = SessionSoakTest.direct();
        System.out.printf("load/close x25: fds %d -> %d, mappings of the file %d, direct %d -> %d%n", fds, fds(), maps,
                direct, directAfter);
        if (fds >= 0) {
            assertTrue(fds() <= fds + 2, "file descriptors grew from " + fds + " to " + fds());
            assertTrue(maps <= 4, maps + " mappings of the model file remain after 25 load/close cycles");
        }
        assertTrue(directAfter <= direct + (16 << 20), "direct memory grew from " + direct + " to " + directAfter);
    }

    /** Open file descriptors of this process, or -1 off Linux. */
    static long fds() throws IOException {
        Path fd = Path.of("/proc/self/fd");
        if (!Files.isDirectory(fd)) {
            return -1;
        }
        try (Stream<Path> s = Files.list(fd)) {
            return s.count();
        }
    }

    /** Lines of /proc/self/maps that map {@code file}, or -1 off Linux. */
    static long mappings(Path file) throws IOException {
        Path maps = Path.of("/proc/self/maps");
        if (!Files.exists(maps)) {
            return -1;
        }
        String name = file.toRealPath().toString();
        try (Stream<String> s = Files.lines(maps)) {
            return s.filter(l -> l.endsWith(name)).count();
        }
    }
}
