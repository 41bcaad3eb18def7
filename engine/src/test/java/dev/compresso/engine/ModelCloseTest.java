package dev.compresso.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.compresso.engine.graph.Linear;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Map;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * close() frees at once, with no garbage collection in between: a model's file mapping (or copy) and a
 * session's activation buffers; use after close throws {@link IllegalStateException} instead of reading
 * released memory.
 */
class ModelCloseTest {
    @TempDir
    static Path dir;
    static Path cmpr;
    static final Map<String, Tensor> IN = Oracle.bertInputs(new int[] {16, 16, 16, 16}, 5);

    @BeforeAll
    static void save() throws Exception {
        cmpr = dir.resolve("close.cmpr");
        try (Model m = Model.load(Oracle.resource("all-minilm-l6-v2.onnx"))) {
            m.save(cmpr);
        }
    }

    @Test
    void closeUnmapsTheFileWithoutGc() throws Exception {
        assumeTrue(MappedFileTest.mappings(cmpr) >= 0, "needs /proc/self/maps");
        Model m = Model.load(cmpr);
        Session s = m.newSession();
        s.run(IN);
        Tensor table = m.graph().constants().values().stream().filter(t -> t.size() > 1000).findFirst().orElseThrow();
        Linear l = m.graph().linears().get(0);
        assertTrue(MappedFileTest.mappings(cmpr) >= 1, "the model file is mapped while the model is open");
        m.close();
        // No System.gc() here: close() itself must unmap.
        assertEquals(0, MappedFileTest.mappings(cmpr), "the model file is still mapped after close()");
        IllegalStateException run = assertThrows(IllegalStateException.class, () -> s.run(IN));
        assertTrue(run.getMessage().contains("closed"), run.getMessage());
        assertThrows(IllegalStateException.class, m::newSession);
        assertThrows(IllegalStateException.class, m::graph);
        assertThrows(IllegalStateException.class, () -> m.save(dir.resolve("after-close.cmpr")));
        // The model's memory: constants and packed weights refuse access instead of crashing the JVM.
        assertThrows(IllegalStateException.class, table::toFloatArray);
        assertThrows(IllegalStateException.class, table::data);
        assertThrows(IllegalStateException.class,
                () -> l.weights().parts().get(0).data().get(ValueLayout.JAVA_BYTE, 0));
        m.close(); // idempotent
        s.close();
    }

    @Test
    void closeFreesACopiedModelsMemoryWithoutGc() throws Exception {
        assumeTrue(rss() >= 0, "needs /proc/self/status");
        long size = java.nio.file.Files.size(cmpr);
        System.setProperty("compresso.load", "copy");
        Model m;
        try {
            m = Model.load(cmpr);
        } finally {
            System.clearProperty("compresso.load");
        }
        long loaded = rss();
        m.close();
        long closed = rss();
        // The copy (read into native memory, so resident) goes back to the system in close(), not at a GC.
        assertTrue(loaded - closed >= size * 3 / 4, "close() freed " + (loaded - closed) + " resident bytes of a "
                + size + "-byte copy");
    }

    @Test
    void sessionCloseFreesItsBuffersWithoutGc() throws Exception {
        try (Model m = Model.load(cmpr)) {
            List<MemorySegment> seen = new CopyOnWriteArrayList<>();
            Session s = m.newSession(new SessionOptions().observer((name, input, rows, cols) -> seen.add(input)));
            s.run(IN);
            assertTrue(s.activationBytes() > 0, "a session keeps its buffers between runs");
            assertTrue(!seen.isEmpty() && seen.stream().allMatch(x -> x.scope().isAlive()), "pooled buffers live between runs");
            s.close();
            // No System.gc(): the buffers' memory is released by close() itself.
            assertTrue(seen.stream().noneMatch(x -> x.scope().isAlive()), "close() left activation buffers allocated");
            assertThrows(IllegalStateException.class, () -> seen.get(0).get(ValueLayout.JAVA_BYTE, 0));
            assertThrows(IllegalStateException.class, () -> s.run(IN));
            s.close(); // idempotent
        }
    }

    @Test
    void closingTheModelClosesItsSessions() throws Exception {
        Model m = Model.load(cmpr);
        Session a = m.newSession(), b = m.newSession();
        float[] want = a.run(IN).get(m.outputNames().get(0)).toFloatArray();
        b.close();
        m.close();
        assertThrows(IllegalStateException.class, () -> a.run(IN));
        assertThrows(IllegalStateException.class, () -> b.run(IN));
        try (Model again = Model.load(cmpr); Session c = again.newSession()) {
            assertEquals(want.length, c.run(IN).get(again.outputNames().get(0)).toFloatArray().length);
        }
    }

    @Test
    void outputsOfAClosedSessionStayUsable() throws Exception {
        Tensor out;
        try (Model m = Model.load(cmpr); Session s = m.newSession()) {
            out = s.run(IN).values().iterator().next();
        }
        assertTrue(out.toFloatArray().length > 0);
    }

    @Test
    void metadataAndASubsetOfOutputs() throws Exception {
        try (Model m = Model.load(cmpr); Session s = m.newSession()) {
            assertEquals(m.graph().inputs(), m.inputs());
            assertTrue(m.inputs().stream().anyMatch(v -> v.shape().stream().anyMatch(d -> d.size() < 0 && d.symbol() != null)),
                    "symbolic dimensions keep their names");
            assertTrue(m.metadata() != null && !m.metadata().containsKey("graph"));
            String first = m.outputNames().get(0);
            Map<String, Tensor> all = s.run(IN);
            Map<String, Tensor> one = s.run(IN, Set.of(first));
            assertEquals(Set.of(first), one.keySet());
            assertTrue(java.util.Arrays.equals(all.get(first).toFloatArray(), one.get(first).toFloatArray()));
            assertThrows(ModelException.class, () -> s.run(IN, Set.of("no such output")));
        }
    }

    /** Resident set size of this process in bytes, or -1 off Linux. */
    static long rss() throws java.io.IOException {
        Path status = Path.of("/proc/self/status");
        if (!java.nio.file.Files.exists(status)) {
            return -1;
        }
        for (String line : java.nio.file.Files.readAllLines(status)) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        return -1;
    }
}
