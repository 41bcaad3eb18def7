package dev.compresso.samples;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every switch a command reads with {@code args.flag("x")} is declared in {@link Main#FLAGS}: an undeclared one
 * is parsed as an option that needs a value, and {@code --x} fails with a usage error.
 */
class FlagsTest {
    @Test
    void everyFlagACommandReadsIsDeclared() throws Exception {
        Path src = Path.of("src/main/java/dev/compresso/samples");
        assertTrue(Files.isDirectory(src), "run from the samples module: " + src.toAbsolutePath());
        Pattern flag = Pattern.compile("args\\.flag\\(\"([a-z0-9-]+)\"\\)");
        List<String> read = new ArrayList<>();
        try (Stream<Path> files = Files.list(src)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                Matcher m = flag.matcher(Files.readString(f));
                while (m.find()) {
                    read.add(m.group(1));
                    assertTrue(Main.FLAGS.contains(m.group(1)), f.getFileName() + " reads --" + m.group(1)
                            + ", which Main.FLAGS does not declare");
                }
            }
        }
        assertTrue(read.contains("train-embeddings") && read.contains("crops"), "found " + read);
    }
}
