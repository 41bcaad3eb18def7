package dev.compresso.engine.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.compresso.engine.DType;
import dev.compresso.engine.Tensor;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The shared graph index and rewriter: edits build a new graph and leave the old one as it was. */
class RewriterTest {
    static Node op(String op, String name, List<String> in, String out) {
        return new Node(op, "", name, in, List.of(out), Map.of());
    }

    static ValueInfo vi(String name) {
        return new ValueInfo(name, DType.FLOAT, List.of());
    }

    /** x -> a = Add(x, c1) -> b = Relu(a) -> y = Mul(b, c2); d = Neg(x) is dead. */
    static Graph graph() {
        Map<String, Tensor> consts = new LinkedHashMap<>();
        consts.put("c1", Tensor.ofFloats(new long[] {1}, new float[] {1}));
        consts.put("c2", Tensor.ofFloats(new long[] {1}, new float[] {2}));
        consts.put("unused", Tensor.ofFloats(new long[] {1}, new float[] {3}));
        return new Graph("g", List.of(vi("x")), List.of(vi("y")), List.of(op("Add", "add", List.of("x", "c1"), "a"),
                op("Neg", "neg", List.of("x"), "d"), op("Relu", "relu", List.of("a"), "b"),
                op("Mul", "mul", List.of("b", "c2"), "y")), consts);
    }

    static List<String> names(Graph g) {
        return g.nodes().stream().map(Node::name).toList();
    }

    @Test
    void indexKnowsProducersConsumersAndConstants() {
        Graph g = graph();
        GraphIndex ix = GraphIndex.of(g);
        assertEquals("add", ix.producer("a").name());
        assertNull(ix.producer("x"));
        assertEquals(List.of("add", "neg"), ix.consumers("x").stream().map(Node::name).toList());
        assertEquals("relu", ix.single("a").name());
        assertNull(ix.single("y"), "a graph output has a reader outside the graph");
        assertEquals(1, ix.reads("y"));
        assertTrue(ix.isConstant("c1") && ix.isInput("x") && ix.isOutput("y"));
        assertEquals(2f, ix.constant("c2").toFloatArray()[0]);
    }

    @Test
    void editsBuildANewGraphAndLeaveTheOldOne() {
        Graph g = graph();
        Node relu = g.node("relu"), add = g.node("add");
        Rewriter r = g.rewrite();
        r.replace(relu, op("Sigmoid", "relu", List.of("a"), "b"));
        assertTrue(r.touched(relu));
        assertFalse(r.touched(add));
        r.insertBefore(add, op("Abs", "abs", List.of("x"), "ax"));
        r.splice(g.node("mul"), List.of(op("Mul", "mul1", List.of("b", "c2"), "m"), op("Neg", "mul2", List.of("m"), "y")));
        r.append(op("Identity", "tail", List.of("y"), "z"));
        Graph h = r.putConstant("c3", Tensor.ofFloats(new long[] {1}, new float[] {4})).build();
        assertEquals(List.of("abs", "add", "neg", "relu", "mul1", "mul2", "tail"), names(h));
        assertEquals("Sigmoid", h.node("relu").op());
        assertTrue(h.constants().containsKey("c3"));
        // the old graph is as it was
        assertEquals(List.of("add", "neg", "relu", "mul"), names(g));
        assertSame(relu, g.node("relu"));
        assertFalse(g.constants().containsKey("c3"));
        assertThrows(UnsupportedOperationException.class, () -> g.nodes().add(relu));
        assertThrows(UnsupportedOperationException.class, () -> g.constants().clear());
    }

    @Test
    void replaceFindsANodeByIdentityThenByNameAndTheLastReplacementWins() {
        Graph g = graph();
        Node first = op("Sigmoid", "relu", List.of("a"), "b");
        Graph h = g.rewrite().replace(g.node("relu"), first).replace(first, op("Tanh", "relu", List.of("a"), "b")).build();
        assertEquals("Tanh", h.node("relu").op());
        Graph byName = g.rewrite().replace(op("Relu", "relu", List.of(), "b"), op("Elu", "relu", List.of("a"), "b")).build();
        assertEquals("Elu", byName.node("relu").op());
        assertThrows(IllegalArgumentException.class, () -> g.rewrite().replace(op("Relu", "nope", List.of(), "q"), first));
    }

    @Test
    void deadNodesUnusedConstantsAndRenames() {
        Graph g = graph();
        Graph h = g.rewrite().removeDeadNodes().removeUnusedConstants().build();
        assertEquals(List.of("add", "relu", "mul"), names(h));
        assertEquals(List.of("c1", "c2"), List.copyOf(h.constants().keySet()));
        Graph r = g.rewrite().remove(g.node("relu")).renameValues(v -> v.equals("b") ? "a" : v)
                .renameConstant("c2", "two").build();
        assertEquals(List.of("a", "two"), r.node("mul").inputs());
        assertTrue(r.constants().containsKey("two") && !r.constants().containsKey("c2"));
        assertEquals(List.of("c1", "two", "unused"), List.copyOf(r.constants().keySet()));
    }
}
