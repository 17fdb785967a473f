package org.tfpose.demo;

import android.content.res.AssetFileDescriptor;
import android.content.res.AssetManager;
import java.io.FileInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.util.HashMap;
import java.util.Map;
import org.tensorflow.lite.DataType;
import org.tensorflow.lite.Interpreter;
import org.tensorflow.lite.Tensor;
import org.tfpose.demo.pose.Affine;
import org.tfpose.demo.pose.HeatmapDecoder;
import org.tfpose.demo.pose.KeypointSet;
import org.tfpose.demo.pose.ModelSpec;
import org.tfpose.demo.pose.PoseResult;
import org.tfpose.demo.pose.Preprocessor;

/**
 * The one class that touches the interpreter: a bundled model in, a {@link PoseResult} per
 * frame out. The interpreter is TensorFlow Lite's Java API; with the LCE AAR in the APK its
 * runtime also has LCE's binary kernels. Float ops run under XNNPACK, which leaves LCE's custom
 * ops to LCE: LCE's published phone figures were measured that way, and so is `tfpose benchmark`.
 */
final class PoseEstimator implements AutoCloseable {
  private static final int K = KeypointSet.COCO_NAMES.length;

  final ModelSpec spec;
  private final Interpreter interpreter;
  private final int inputHeight;
  private final int inputWidth;
  private final boolean uint8Input;
  private final float inputScale;
  private final int inputZeroPoint;
  private final int outputIndex;
  private final int[] outputShape;

  /** True when the TensorFlow Lite (or LCE) runtime classes are in the APK. */
  static boolean runtimeAvailable() {
    try {
      Class.forName("org.tensorflow.lite.Interpreter");
      return true;
    } catch (ClassNotFoundException | LinkageError e) {
      return false;
    }
  }

  PoseEstimator(AssetManager assets, ModelSpec spec, int threads) throws IOException {
    this.spec = spec;
    Interpreter.Options options = new Interpreter.Options().setNumThreads(threads)
        .setUseXNNPACK(true);
    interpreter = new Interpreter(map(assets, "models/" + spec.file), options);
    Tensor input = interpreter.getInputTensor(0);
    int[] shape = input.shape();
    if (shape.length != 4 || shape[3] != 3) {
      throw new IOException(spec.file + ": input " + java.util.Arrays.toString(shape)
          + " is not [1, H, W, 3]");
    }
    inputHeight = shape[1];
    inputWidth = shape[2];
    uint8Input = input.dataType() == DataType.UINT8;
    inputScale = uint8Input ? input.quantizationParams().getScale() : 1f;
    inputZeroPoint = uint8Input ? input.quantizationParams().getZeroPoint() : 0;
    // Top-down: the one output. Bottom-up (LitePose): the heatmaps at the finest stride.
    int best = 0;
    for (int i = 1; i < interpreter.getOutputTensorCount(); i++) {
      if (interpreter.getOutputTensor(i).shape()[1] > interpreter.getOutputTensor(best)
          .shape()[1]) {
        best = i;
      }
    }
    outputIndex = best;
    outputShape = interpreter.getOutputTensor(best).shape();
  }

  /** Models must be stored uncompressed in the APK to be memory-mapped (build_apk.sh does). */
  private static ByteBuffer map(AssetManager assets, String path) throws IOException {
    try (AssetFileDescriptor fd = assets.openFd(path);
        FileInputStream stream = new FileInputStream(fd.getFileDescriptor())) {
      return stream.getChannel().map(FileChannel.MapMode.READ_ONLY, fd.getStartOffset(),
          fd.getDeclaredLength());
    }
  }

  /** One upright frame: the whole frame is the person's box (one person, as the demo shows). */
  PoseResult estimate(int[] argb, int width, int height, Affine frameToUpright, int uprightWidth,
      int uprightHeight) {
    long t0 = System.nanoTime();
    Affine.Crop crop = Affine.Crop.wholeFrame(uprightHeight, uprightWidth, inputHeight,
        inputWidth);
    Affine uprightToInput = Affine.fromBox(crop, inputHeight, inputWidth);
    float[] pixels = Preprocessor.cut(argb, width, height, frameToUpright.then(uprightToInput),
        inputHeight, inputWidth);
    ByteBuffer input = uint8Input ? Preprocessor.asUint8(pixels, inputScale, inputZeroPoint)
        : Preprocessor.asFloat32(pixels);
    Map<Integer, Object> outputs = new HashMap<>();
    for (int i = 0; i < interpreter.getOutputTensorCount(); i++) {
      int[] s = interpreter.getOutputTensor(i).shape();
      int count = 1;
      for (int d : s) {
        count *= d;
      }
      outputs.put(i, ByteBuffer.allocateDirect(4 * count).order(ByteOrder.nativeOrder()));
    }
    long t1 = System.nanoTime();
    interpreter.runForMultipleInputsOutputs(new Object[] {input}, outputs);
    long t2 = System.nanoTime();
    ByteBuffer raw = (ByteBuffer) outputs.get(outputIndex);
    raw.rewind();
    float[] values = new float[raw.capacity() / 4];
    raw.asFloatBuffer().get(values);
    float[][] keypoints;
    if (spec.output == ModelSpec.Output.DECODED) {  // [1, K, 3] in input pixels
      keypoints = new float[K][3];
      for (int k = 0; k < K; k++) {
        System.arraycopy(values, 3 * k, keypoints[k], 0, 3);
      }
      HeatmapDecoder.toFrame(keypoints, uprightToInput);
    } else {
      int h = outputShape[1];
      int w = outputShape[2];
      int channels = outputShape[3];
      float[] maps = channels == K ? values : firstChannels(values, h * w, channels);
      keypoints = HeatmapDecoder.decode(maps, h, w, K, spec.output == ModelSpec.Output.SIGMOID,
          true);
      HeatmapDecoder.toFrame(keypoints, Affine.fromBox(crop, h, w));
    }
    long t3 = System.nanoTime();
    return new PoseResult(keypoints, uprightWidth, uprightHeight, (t1 - t0) / 1e6,
        (t2 - t1) / 1e6, (t3 - t2) / 1e6);
  }

  /** The K heatmap channels of a bottom-up output that also carries tags. */
  private static float[] firstChannels(float[] values, int pixels, int channels) {
    float[] out = new float[pixels * K];
    for (int p = 0; p < pixels; p++) {
      System.arraycopy(values, p * channels, out, p * K, K);
    }
    return out;
  }

  @Override
  public void close() {
    interpreter.close();
  }
}
