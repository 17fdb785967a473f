package org.tensorflow.lite;

/** Compile-time declaration (see Interpreter). */
public interface Tensor {
  int[] shape();

  DataType dataType();

  QuantizationParams quantizationParams();

  /** Scale and zero point of a quantised tensor. */
  class QuantizationParams {
    public float getScale() {
      throw new UnsupportedOperationException();
    }

    public int getZeroPoint() {
      throw new UnsupportedOperationException();
    }
  }
}
