package dev.compresso.engine.onnx;

import dev.compresso.engine.ModelException;
import dev.compresso.engine.graph.Graph;
import java.io.IOException;
import java.nio.file.Path;

/** Imports an ONNX file into the engine's graph IR (work in progress). */
public final class OnnxImporter {
    private OnnxImporter() {}

    /**
     * @param path ONNX file
     * @return the fused graph
     * @throws IOException    on read failure
     * @throws ModelException on malformed or unsupported content
     */
    public static Graph load(Path path) throws IOException, ModelException {
        throw new ModelException(path + ": ONNX import not implemented yet");
    }
}
