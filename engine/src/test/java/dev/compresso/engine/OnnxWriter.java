package dev.compresso.engine;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** A minimal ONNX (protobuf) writer for building test models; field numbers from onnx.proto3. */
final class OnnxWriter {

    /** One protobuf message under construction. */
    static final class Msg {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Msg varint(int field, long v) {
            tag(field, 0);
            raw(v);
            return this;
        }

        Msg bytes(int field, byte[] b) {
            tag(field, 2);
            raw(b.length);
            out.writeBytes(b);
            return this;
        }

        Msg str(int field, String s) {
            return bytes(field, s.getBytes(StandardCharsets.UTF_8));
        }

        Msg msg(int field, Msg m) {
            return bytes(field, m.out.toByteArray());
        }

        Msg f32(int field, float v) {
            tag(field, 5);
            int b = Float.floatToIntBits(v);
            for (int i = 0; i < 4; i++) {
                out.write(b >>> (8 * i));
            }
            return this;
        }

        Msg packed(int field, long... vs) {
            Msg p = new Msg();
            for (long v : vs) {
                p.raw(v);
            }
            return bytes(field, p.out.toByteArray());
        }

        void tag(int field, int wire) {
            raw(((long) field << 3) | wire);
        }

        void raw(long v) {
            while ((v & ~0x7FL) != 0) {
                out.write((int) ((v & 0x7F) | 0x80));
                v >>>= 7;
            }
            out.write((int) v);
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }

    final List<Msg> nodes = new ArrayList<>();
    final List<Msg> inits = new ArrayList<>();
    final List<Msg> inputs = new ArrayList<>();
    final List<Msg> outputs = new ArrayList<>();
    int opset = 13;

    static Msg floatTensor(String name, long[] dims, float[] v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            b.putFloat(f);
        }
        return new Msg().packed(1, dims).varint(2, 1).str(8, name).bytes(9, b.array());
    }

    static Msg longTensor(String name, long[] dims, long[] v) {
        // typed int64_data field (7), to exercise the non-raw path
        return new Msg().packed(1, dims).varint(2, 7).str(8, name).packed(7, v);
    }

    static Msg boolTensor(String name, long[] dims, long[] v) {
        return new Msg().packed(1, dims).varint(2, 9).str(8, name).packed(5, v);
    }

    OnnxWriter init(Msg t) {
        inits.add(t);
        return this;
    }

    /** A value info with element type and dims (a negative dim is symbolic). */
    static Msg valueInfo(String name, int elemType, long... dims) {
        Msg shape = new Msg();
        for (long d : dims) {
            shape.msg(1, d >= 0 ? new Msg().varint(1, d) : new Msg().str(2, "d" + (-d)));
        }
        Msg tensorType = new Msg().varint(1, elemType).msg(2, shape);
        return new Msg().str(1, name).msg(2, new Msg().msg(1, tensorType));
    }

    OnnxWriter input(String name, int type, long... dims) {
        inputs.add(valueInfo(name, type, dims));
        return this;
    }

    OnnxWriter output(String name, int type, long... dims) {
        outputs.add(valueInfo(name, type, dims));
        return this;
    }

    static Msg intsAttr(String name, long... v) {
        return new Msg().str(1, name).varint(20, 7).packed(8, v);
    }

    static Msg intAttr(String name, long v) {
        return new Msg().str(1, name).varint(20, 2).varint(3, v);
    }

    OnnxWriter node(String op, String name, String[] in, String[] out, Msg... attrs) {
        Msg n = new Msg();
        for (String i : in) {
            n.str(1, i);
        }
        for (String o : out) {
            n.str(2, o);
        }
        n.str(3, name).str(4, op);
        for (Msg a : attrs) {
            n.msg(5, a);
        }
        nodes.add(n);
        return this;
    }

    byte[] build() {
        Msg g = new Msg();
        for (Msg n : nodes) {
            g.msg(1, n);
        }
        g.str(2, "test");
        for (Msg t : inits) {
            g.msg(5, t);
        }
        for (Msg i : inputs) {
            g.msg(11, i);
        }
        for (Msg o : outputs) {
            g.msg(12, o);
        }
        return new Msg().varint(1, 8).str(2, "compresso-test").msg(7, g).msg(8, new Msg().str(1, "").varint(2, opset))
                .bytes();
    }
}
