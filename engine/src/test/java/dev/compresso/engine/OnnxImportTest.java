package dev.compresso.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.compresso.engine.graph.Linear;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A small graph with awkward shapes built here, run by ORT and by us; malformed files. */
class OnnxImportTest {
    @TempDir
    Path dir;

    static float[] random(int n, long seed) {
        Random r = new Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return v;
    }

    static String[] a(String... s) {
        return s;
    }

    OnnxWriter tiny() {
        OnnxWriter w = new OnnxWriter();
        w.input("X", 1, -1, 3, 5).input("Y", 1, 1, 5);
        w.init(OnnxWriter.floatTensor("W", new long[] {5, 7}, random(35, 1)));
        w.init(OnnxWriter.floatTensor("B", new long[] {7}, random(7, 2)));
        w.init(OnnxWriter.floatTensor("half", new long[] {}, new float[] {0.5f}));
        w.init(OnnxWriter.floatTensor("three", new long[] {1}, new float[] {3f}));
        w.init(OnnxWriter.floatTensor("two", new long[] {}, new float[] {2f}));
        w.init(OnnxWriter.longTensor("starts", new long[] {1}, new long[] {1}));
        w.init(OnnxWriter.longTensor("ends", new long[] {1}, new long[] {8}));
        w.init(OnnxWriter.longTensor("axes2", new long[] {1}, new long[] {2}));
        w.init(OnnxWriter.longTensor("steps", new long[] {1}, new long[] {2}));
        w.init(OnnxWriter.longTensor("idx", new long[] {2}, new long[] {2, -3}));
        w.init(OnnxWriter.longTensor("axes0", new long[] {1}, new long[] {0}));
        w.init(OnnxWriter.longTensor("eshape", new long[] {4}, new long[] {3, 1, 1, 1}));
        w.init(OnnxWriter.longTensor("rshape", new long[] {2}, new long[] {-1, 8}));
        w.init(OnnxWriter.boolTensor("cond", new long[] {4}, new long[] {1, 0, 1, 0}));
        w.node("Add", "add", a("X", "Y"), a("A"));
        w.node("MatMul", "mm", a("A", "W"), a("M"));
        w.node("Add", "bias", a("M", "B"), a("MB"));
        w.node("Erf", "erf", a("MB"), a("E"));
        w.node("Mul", "mul", a("MB", "E"), a("G0"));
        w.node("Mul", "halve", a("G0", "half"), a("G"));
        w.node("Transpose", "tr", a("G"), a("T"), OnnxWriter.intsAttr("perm", 1, 0, 2));
        w.node("Softmax", "sm", a("T"), a("S"), OnnxWriter.intAttr("axis", 1));
        w.node("ReduceMean", "rm", a("S"), a("R"), OnnxWriter.intsAttr("axes", 2));
        w.node("Sqrt", "sqrt", a("R"), a("Sq"));
        w.node("Concat", "cat", a("T", "Sq"), a("C"), OnnxWriter.intAttr("axis", 2));
        w.node("Slice", "slice", a("C", "starts", "ends", "axes2", "steps"), a("Sl"));
        w.node("Gather", "gather", a("Sl", "idx"), a("Gi"), OnnxWriter.intAttr("axis", 0));
        w.node("Unsqueeze", "unsq", a("Gi", "axes0"), a("U"));
        w.node("Expand", "expand", a("U", "eshape"), a("Ex"));
        w.node("Pow", "pow", a("Ex", "two"), a("P"));
        w.node("Where", "where", a("cond", "Ex", "P"), a("Wh"));
        w.node("Reshape", "reshape", a("Wh", "rshape"), a("Out1"));
        w.node("Div", "div", a("Sl", "three"), a("Out2"));
        w.node("Shape", "shape", a("X"), a("Sh"));
        w.node("Equal", "eq", a("Sh", "Sh"), a("Out3"));
        w.node("Tanh", "tanh", a("Sq"), a("Out4"));
        w.output("Out1", 1, -1, 8).output("Out2", 1, 3, -2, 4).output("Out3", 9, 3).output("Out4", 1, 3, -2, 1);
        return w;
    }

    @Test
    void tinyGraphMatchesOrt() throws Exception {
        Path p = dir.resolve("tiny.onnx");
        Files.write(p, tiny().build());
        for (int batch : new int[] {1, 2, 5}) {
            Map<String, Tensor> in = Map.of("X", Tensor.ofFloats(new long[] {batch, 3, 5}, random(batch * 15, batch)),
                    "Y", Tensor.ofFloats(new long[] {1, 5}, random(5, 9)));
            Map<String, Object[]> ref = Oracle.ort(p, in);
            try (Model m = Model.load(p); Session s = m.newSession()) {
                assertTrue(m.graph().nodes().stream().anyMatch(n -> n instanceof Linear), "MatMul+Add fused");
                Map<String, Tensor> out = s.run(in);
                for (var e : ref.entrySet()) {
                    Tensor t = out.get(e.getKey());
                    assertArrayEquals((long[]) e.getValue()[0], t.shape(), e.getKey());
                    float d = Oracle.maxDiff((float[]) e.getValue()[1], t.toFloatArray());
                    assertTrue(d <= 1e-5f, e.getKey() + " batch " + batch + ": max|diff| " + d);
                }
                assertArrayEquals(new long[] {1, 1, 1}, out.get("Out3").toLongArray());
            }
        }
    }

    @Test
    void unknownOperatorIsNamed() throws Exception {
        OnnxWriter w = tiny();
        w.node("FooBar", "mystery", a("Out2"), a("Z"));
        Path p = dir.resolve("unknown.onnx");
        Files.write(p, w.build());
        ModelException e = assertThrows(ModelException.class, () -> Model.load(p));
        assertTrue(e.getMessage().contains("FooBar") && e.getMessage().contains("mystery")
                && e.getMessage().contains(p.toString()), e.getMessage());
    }

    @Test
    void truncatedFilesFailCleanly() throws Exception {
        byte[] full = tiny().build();
        for (int cut : new int[] {0, 1, 2, 7, 50, full.length / 2, full.length - 1}) {
            Path p = dir.resolve("cut" + cut + ".onnx");
            Files.write(p, java.util.Arrays.copyOf(full, cut));
            ModelException e = assertThrows(ModelException.class, () -> Model.load(p), "cut at " + cut);
            assertTrue(e.getMessage().contains(p.toString()), e.getMessage());
        }
    }

    @Test
    void forgedSizesFailCleanly() throws Exception {
        // A graph field claiming 2^40 bytes.
        OnnxWriter.Msg m = new OnnxWriter.Msg();
        m.tag(7, 2);
        m.raw(1L << 40);
        m.out.writeBytes(new byte[16]);
        Path p = dir.resolve("forged.onnx");
        Files.write(p, m.bytes());
        assertThrows(ModelException.class, () -> Model.load(p));
        // A tensor whose dims claim far more elements than its raw data holds.
        OnnxWriter w = tiny();
        w.init(new OnnxWriter.Msg().packed(1, 1L << 20, 1L << 20, 1L << 20).varint(2, 1).str(8, "huge").bytes(9, new byte[8]));
        Path p2 = dir.resolve("huge.onnx");
        Files.write(p2, w.build());
        ModelException e = assertThrows(ModelException.class, () -> Model.load(p2));
        assertTrue(e.getMessage().contains("huge"), e.getMessage());
        // Random bytes.
        Random r = new Random(5);
        for (int i = 0; i < 20; i++) {
            byte[] junk = new byte[1 + r.nextInt(300)];
            r.nextBytes(junk);
            Path pj = dir.resolve("junk" + i + ".onnx");
            Files.write(pj, junk);
            assertThrows(ModelException.class, () -> Model.load(pj));
        }
    }

    @Test
    void badInputsAndClosedSession() throws Exception {
        Path p = dir.resolve("tiny.onnx");
        Files.write(p, tiny().build());
        try (Model m = Model.load(p)) {
            Session s = m.newSession();
            assertThrows(ModelException.class, () -> s.run(Map.of("X", Tensor.ofFloats(new long[] {1, 3, 5}, new float[15]))));
            assertThrows(ModelException.class, () -> s.run(Map.of(
                    "X", Tensor.ofFloats(new long[] {1, 4, 5}, new float[20]),
                    "Y", Tensor.ofFloats(new long[] {1, 5}, new float[5]))));
            s.close();
            assertThrows(IllegalStateException.class, () -> s.run(Map.of()));
        }
    }
}
