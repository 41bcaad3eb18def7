package dev.compresso.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Regression tests of the CLI file defects: leftover temporaries, private modes and bare-path messages. */
class CliFilesTest {
    @TempDir
    Path dir;

    @Test
    void outputsHaveTheModeOfAnOrdinaryNewFile() throws Exception {
        Path plain = Files.createFile(dir.resolve("plain"));
        Path out = dir.resolve("out.json");
        AtomicFiles.write(out, os -> os.write('x'));
        if (dir.getFileSystem().supportedFileAttributeViews().contains("posix")) {
            assertEquals(Files.getPosixFilePermissions(plain), Files.getPosixFilePermissions(out));
        }
    }

    @Test
    void temporariesOfKilledRunsAreRemoved() throws Exception {
        Path out = dir.resolve("model.cmpr");
        // A pid above Linux's pid_max: that process is gone. An old-style name: decided by age.
        Path deadPid = Files.writeString(dir.resolve(".model.cmpr.999999999-abc.tmp"), "partial");
        Path old = Files.writeString(dir.resolve(".model.cmpr.12345678.tmp"), "partial");
        Files.setLastModifiedTime(old, FileTime.from(Instant.now().minus(Duration.ofDays(2))));
        Path fresh = Files.writeString(dir.resolve(".model.cmpr.87654321.tmp"), "someone is writing");
        Path other = Files.writeString(dir.resolve(".other.999999999-abc.tmp"), "not ours");
        AtomicFiles.write(out, os -> os.write('x'));
        assertFalse(Files.exists(deadPid));
        assertFalse(Files.exists(old));
        assertTrue(Files.exists(fresh));
        assertTrue(Files.exists(other));
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(3, s.count()); // out, fresh, other
        }
    }

    @Test
    void bareFileSystemMessagesSayWhatIsWrong() {
        assertEquals("out/x.json: no such file or directory", Main.describe(new NoSuchFileException("out/x.json")));
        assertEquals("m.onnx: permission denied", Main.describe(new AccessDeniedException("m.onnx")));
        assertEquals("m.onnx: tokenizer missing", Main.describe(new NoSuchFileException("m.onnx", null, "tokenizer missing")));
    }
}
