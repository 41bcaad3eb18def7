package dev.compresso.engine.runtime.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.compresso.engine.graph.Node;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The registry is the one list of supported operators; the README's list must say the same. */
class OperatorsTest {
    private static final Pattern README_LINE =
            Pattern.compile("^- Operators — ONNX: (.+); fused \\(domain `dev.compresso`\\): (.+)\\.$", Pattern.MULTILINE);

    @Test
    void readmeListsExactlyTheRegistry() throws IOException {
        String readme = Files.readString(Path.of("..", "README.md"));
        Matcher m = README_LINE.matcher(readme);
        assertTrue(m.find(), "README.md has no line '- Operators — ONNX: …; fused (domain `dev.compresso`): ….'");
        assertEquals(Operators.onnxNames(), new TreeSet<>(Arrays.asList(m.group(1).split(", "))), "ONNX operators");
        assertEquals(Operators.fusedNames(), new TreeSet<>(Arrays.asList(m.group(2).split(", "))), "fused operators");
    }

    @Test
    void supportIsByDomainAndName() {
        assertTrue(Operators.isSupported(node("MatMul", "")));
        assertTrue(Operators.isSupported(node("MatMul", "ai.onnx")));
        assertTrue(Operators.isSupported(node("DynamicFakeQuant", "dev.compresso")));
        assertFalse(Operators.isSupported(node("MatMul", "com.microsoft")));
        assertFalse(Operators.isSupported(node("LSTM", "")));
    }

    @Test
    void constantFoldingRunsOnlyOnnxOperators() {
        Ctx c = new Ctx(null, 1, null, "test", 17);
        Node fq = node("DynamicFakeQuant", "dev.compresso");
        Operator.Fail e = assertThrows(Operator.Fail.class, () -> Operators.resolveOnnx(fq).forward(fq, null, c));
        assertEquals("unsupported operator DynamicFakeQuant", e.getMessage());
    }

    private static Node node(String op, String domain) {
        return new Node(op, domain, "n", List.of("x"), List.of("y"), Map.of());
    }
}
