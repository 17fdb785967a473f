package org.tensorflow.lite;

import java.nio.ByteBuffer;
import java.util.Map;

/**
 * Compile-time declaration of the part of TensorFlow Lite's Java API the demo calls, so the app
 * builds without the LCE AAR. It is never packaged: with {@code LCE_AAR} the real classes are
 * dexed into the APK; without, the app finds no {@code org.tensorflow.lite.Interpreter} at run
 * time and says so on screen.
 */
public final class Interpreter implements AutoCloseable {
  public Interpreter(ByteBuffer model, Options options) {
    throw new UnsupportedOperationException("compile-time declaration only");
  }

  public Tensor getInputTensor(int index) {
    throw new UnsupportedOperationException();
  }

  public Tensor getOutputTensor(int index) {
    throw new UnsupportedOperationException();
  }

  public int getOutputTensorCount() {
    throw new UnsupportedOperationException();
  }

  public void runForMultipleInputsOutputs(Object[] inputs, Map<Integer, Object> outputs) {
    throw new UnsupportedOperationException();
  }

  @Override
  public void close() {}

  /** Interpreter options. */
  public static class Options {
    public Options setNumThreads(int numThreads) {
      throw new UnsupportedOperationException();
    }

    public Options setUseXNNPACK(boolean useXnnpack) {
      throw new UnsupportedOperationException();
    }
  }
}
