package dev.compresso.quant;

/**
 * A quantization pass met data it cannot quantize faithfully (NaN or infinite weights or calibration
 * activations, a weight outside the fp16 range, ...). The message names the tensor or layer at fault, so a
 * broken model is never written silently.
 */
public final class QuantizationException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /**
     * @param message what is wrong, naming the tensor or layer
     */
    public QuantizationException(String message) {
        super(message);
    }
}
