package org.tfpose.demo;

import android.content.res.AssetFileDescriptor;
import android.content.res.AssetManager;
import java.io.FileInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.tensorflow.lite.DataType;
import org.tensorflow.lite.Interpreter;
import org.tensorflow.lite.Tensor;
import org.tfpose.demo.pose.Affine;
import org.tfpose.demo.pose.AssociativeGrouping;
import org.tfpose.demo.pose.BottomUpOutputs;
import org.tfpose.demo.pose.HeatmapDecoder;
import org.tfpose.demo.pose.KeypointSet;
import org.tfpose.demo.pose.ModelSpec;
import org.tfpose.demo.pose.Person;
import org.tfpose.demo.pose.PoseResult;
import org.tfpose.demo.pose.PoseTracker;
import org.tfpose.demo.pose.Preprocessor;
import org.tfpose.demo.pose.SmoothingSettings;
import org.tfpose.demo.pose.TrackedPose;

/**
 * The one class that touches the interpreter: a bundled model in, a {@link PoseResult} per
 * frame out, with the people followed from frame to frame (as {@code tfpose.VideoPoseTracker}
 * with {@code follow=True} does). The interpreter is TensorFlow Lite's Java API; with the LCE
 * AAR in the APK its runtime also has LCE's binary kernels. Float ops run under XNNPACK, which
 * leaves LCE's custom ops to LCE: LCE's published phone figures were measured that way, and so
 * is `tfpose benchmark`.
 *
 * <p>Top-down models: the first frame, and any frame after one where no track is confident
 * ({@link PoseTracker#nextBoxes} is null), is one crop of the whole frame; otherwise one crop
 * per confident track, around its keypoints of the frame before. Bottom-up models find everyone
 * in the whole frame ({@link AssociativeGrouping}). Either way {@link PoseTracker} gives the
 * track ids and, when asked, smooths the keypoints. Every crop, grid and decoding follows the
 * model's pixel convention ({@link ModelSpec#convention}), as its Python codec does.
 */
final class PoseEstimator implements AutoCloseable {
  private static final int K = KeypointSet.COCO_NAMES.length;
  /** Growth of a person box before cropping: HeatmapCodec's padding, as in training. */
  private static final double PADDING = 1.25;

  final ModelSpec spec;
  private final Interpreter interpreter;
  private final int inputHeight;
  private final int inputWidth;
  private final boolean uint8Input;
  private final float inputScale;
  private final int inputZeroPoint;
  /** Top-down: the output decoded (the finest). */
  private final int outputIndex;
  /** Per output: its shape without the batch, {H, W, C} or {K, 3}. */
  private final int[][] outputShapes;
  private final Map<Integer, Object> outputBuffers = new HashMap<>();
  private PoseTracker tracker;
  private boolean trackerSmooths;
  private double lastTime = -1;

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
    int count = interpreter.getOutputTensorCount();
    outputShapes = new int[count][];
    int best = 0;
    for (int i = 0; i < count; i++) {
      Tensor output = interpreter.getOutputTensor(i);
      int[] s = output.shape();
      outputShapes[i] = java.util.Arrays.copyOfRange(s, 1, s.length);
      int values = 1;
      for (int d : s) {
        values *= d;
      }
      outputBuffers.put(i, ByteBuffer.allocateDirect(bytesPerValue(output) * values)
          .order(ByteOrder.nativeOrder()));
      if (s[1] > outputShapes[best][0]) {
        best = i;
      }
    }
    outputIndex = best;
  }

  private static int bytesPerValue(Tensor tensor) {
    DataType type = tensor.dataType();
    return type == DataType.UINT8 || type == DataType.INT8 ? 1 : 4;
  }

  /** Models must be stored uncompressed in the APK to be memory-mapped (build_apk.sh does). */
  private static ByteBuffer map(AssetManager assets, String path) throws IOException {
    try (AssetFileDescriptor fd = assets.openFd(path);
        FileInputStream stream = new FileInputStream(fd.getFileDescriptor())) {
      return stream.getChannel().map(FileChannel.MapMode.READ_ONLY, fd.getStartOffset(),
          fd.getDeclaredLength());
    }
  }

  /**
   * The people of one frame at time {@code t} seconds (increasing; a time that is not starts
   * the tracking afresh), with smoothing or without (switching restarts the tracking too).
   */
  PoseResult estimate(int[] argb, int width, int height, Affine frameToUpright, int uprightWidth,
      int uprightHeight, double t, boolean smooth) {
    if (tracker == null || smooth != trackerSmooths || !(t > lastTime)) {
      tracker = new PoseTracker(K, PoseTracker.COCO_SIGMAS,
          smooth ? SmoothingSettings.DEFAULT : null);
      trackerSmooths = smooth;
    }
    lastTime = t;
    long[] nanos = new long[3]; // preprocessing, model, decoding
    List<Person> persons = new ArrayList<>();
    List<double[]> boxes = spec.bottomUp ? null : tracker.nextBoxes(uprightHeight, uprightWidth);
    boolean followed = boxes != null;
    if (spec.bottomUp) {
      persons.addAll(bottomUp(argb, width, height, frameToUpright, uprightWidth, uprightHeight,
          nanos));
    } else {
      for (double[] box : followed ? boxes : Collections.<double[]>singletonList(null)) {
        persons.add(topDown(argb, width, height, frameToUpright, uprightWidth, uprightHeight,
            box, nanos));
      }
    }
    long t0 = System.nanoTime();
    List<TrackedPose> tracked = tracker.update(persons, t);
    float[][][] shown = new float[tracked.size()][][];
    int[] ids = new int[tracked.size()];
    for (int i = 0; i < shown.length; i++) {
      shown[i] = tracked.get(i).person.keypoints;
      ids[i] = tracked.get(i).trackId;
    }
    nanos[2] += System.nanoTime() - t0;
    return new PoseResult(shown, ids, uprightWidth, uprightHeight,
        followed ? boxes.size() : 1, followed, nanos[0] / 1e6,
        nanos[1] / 1e6, nanos[2] / 1e6);
  }

  /** One crop: around {@code box} (x, y, w, h in upright pixels), or the whole frame (null). */
  private Person topDown(int[] argb, int width, int height, Affine frameToUpright,
      int uprightWidth, int uprightHeight, double[] box, long[] nanos) {
    long t0 = System.nanoTime();
    // The whole frame's fitted centre under either convention, as Python's crop_box.
    Affine.Crop crop = box == null
        ? Affine.Crop.wholeFrame(uprightHeight, uprightWidth, inputHeight, inputWidth,
            Affine.Convention.TFPOSE)
        : Affine.Crop.ofBox(box[0], box[1], box[2], box[3], inputWidth / (double) inputHeight,
            PADDING);
    Affine uprightToInput = Affine.fromBox(crop, inputHeight, inputWidth, spec.convention);
    ByteBuffer input = input(argb, width, height, frameToUpright.then(uprightToInput));
    long t1 = System.nanoTime();
    float[][] outputs = run(input);
    long t2 = System.nanoTime();
    float[] values = outputs[outputIndex];
    float[][] keypoints;
    if (spec.output == ModelSpec.Output.DECODED) {  // [1, K, 3] in input pixels
      keypoints = new float[K][3];
      for (int k = 0; k < K; k++) {
        System.arraycopy(values, 3 * k, keypoints[k], 0, 3);
      }
      HeatmapDecoder.toFrame(keypoints, uprightToInput);
    } else {
      int[] s = outputShapes[outputIndex];
      float[] maps = s[2] == K ? values : firstChannels(values, s[0] * s[1], s[2]);
      keypoints = HeatmapDecoder.decode(maps, s[0], s[1], K,
          spec.output == ModelSpec.Output.SIGMOID, true, spec.convention);
      HeatmapDecoder.toFrame(keypoints, Affine.fromBox(crop, s[0], s[1], spec.convention));
    }
    nanos[0] += t1 - t0;
    nanos[1] += t2 - t1;
    nanos[2] += System.nanoTime() - t2;
    // As tfpose's predictor: the person's score is its mean keypoint score, its box the crop's
    // box (the whole image when there was none).
    double[] personBox = box == null ? new double[] {0, 0, uprightWidth, uprightHeight}
        : box.clone();
    return new Person(keypoints, Person.meanScore(keypoints), personBox);
  }

  /** Everyone in the whole frame: heatmaps and tags grouped into persons. */
  private List<Person> bottomUp(int[] argb, int width, int height, Affine frameToUpright,
      int uprightWidth, int uprightHeight, long[] nanos) {
    long t0 = System.nanoTime();
    Affine.Crop crop = Affine.Crop.wholeFrame(uprightHeight, uprightWidth, inputHeight,
        inputWidth, spec.convention);
    ByteBuffer input = input(argb, width, height,
        frameToUpright.then(Affine.fromBox(crop, inputHeight, inputWidth, spec.convention)));
    long t1 = System.nanoTime();
    float[][] outputs = run(input);
    long t2 = System.nanoTime();
    BottomUpOutputs grid = BottomUpOutputs.merge(outputs, outputShapes, K);
    AssociativeGrouping.Result grouped = AssociativeGrouping.groupWithScores(grid.heatmaps,
        grid.tags, grid.height, grid.width, K, grid.tagDim, spec.grouping);
    Affine uprightToGrid = Affine.fromBox(crop, grid.height, grid.width, spec.convention);
    List<Person> persons = new ArrayList<>();
    for (int p = 0; p < grouped.poses.size(); p++) {
      float[][] keypoints = BottomUpOutputs.toFrame(grouped.poses.get(p), uprightToGrid,
          spec.convention);
      persons.add(new Person(keypoints, grouped.scores[p], keypointBox(keypoints)));
    }
    nanos[0] += t1 - t0;
    nanos[1] += t2 - t1;
    nanos[2] += System.nanoTime() - t2;
    return persons;
  }

  /**
   * {x, y, w, h} around the keypoints with a positive score (all when none has one): the box
   * tfpose's predictor gives a bottom-up person.
   */
  private static double[] keypointBox(float[][] keypoints) {
    boolean any = false;
    for (float[] k : keypoints) {
      any |= k[2] > 0;
    }
    double x0 = Double.POSITIVE_INFINITY;
    double y0 = Double.POSITIVE_INFINITY;
    double x1 = Double.NEGATIVE_INFINITY;
    double y1 = Double.NEGATIVE_INFINITY;
    for (float[] k : keypoints) {
      if (!any || k[2] > 0) {
        x0 = Math.min(x0, k[0]);
        y0 = Math.min(y0, k[1]);
        x1 = Math.max(x1, k[0]);
        y1 = Math.max(y1, k[1]);
      }
    }
    return new double[] {x0, y0, x1 - x0, y1 - y0};
  }

  private ByteBuffer input(int[] argb, int width, int height, Affine frameToInput) {
    float[] pixels = Preprocessor.cut(argb, width, height, frameToInput, inputHeight,
        inputWidth);
    return uint8Input ? Preprocessor.asUint8(pixels, inputScale, inputZeroPoint)
        : Preprocessor.asFloat32(pixels);
  }

  /** Runs the model; every output as floats (quantised outputs dequantised). */
  private float[][] run(ByteBuffer input) {
    for (Object buffer : outputBuffers.values()) {
      ((ByteBuffer) buffer).clear();
    }
    interpreter.runForMultipleInputsOutputs(new Object[] {input}, outputBuffers);
    float[][] outputs = new float[outputShapes.length][];
    for (int i = 0; i < outputs.length; i++) {
      ByteBuffer raw = (ByteBuffer) outputBuffers.get(i);
      raw.rewind();
      Tensor tensor = interpreter.getOutputTensor(i);
      DataType type = tensor.dataType();
      if (type == DataType.UINT8 || type == DataType.INT8) {
        float scale = tensor.quantizationParams().getScale();
        int zeroPoint = tensor.quantizationParams().getZeroPoint();
        float[] values = new float[raw.capacity()];
        for (int j = 0; j < values.length; j++) {
          int q = type == DataType.UINT8 ? raw.get(j) & 0xFF : raw.get(j);
          values[j] = (q - zeroPoint) * scale;
        }
        outputs[i] = values;
      } else {
        outputs[i] = new float[raw.capacity() / 4];
        raw.asFloatBuffer().get(outputs[i]);
      }
    }
    return outputs;
  }

  /** The K heatmap channels of an output that also carries tags. */
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
