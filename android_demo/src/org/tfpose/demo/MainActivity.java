package org.tfpose.demo;

import android.Manifest;
import android.app.Activity;
import android.content.Context;
import android.content.pm.PackageManager;
import android.graphics.ImageFormat;
import android.graphics.Matrix;
import android.graphics.SurfaceTexture;
import android.hardware.camera2.CameraAccessException;
import android.hardware.camera2.CameraCaptureSession;
import android.hardware.camera2.CameraCharacteristics;
import android.hardware.camera2.CameraDevice;
import android.hardware.camera2.CameraManager;
import android.hardware.camera2.CameraMetadata;
import android.hardware.camera2.CaptureRequest;
import android.media.Image;
import android.media.ImageReader;
import android.os.Bundle;
import android.os.Handler;
import android.os.HandlerThread;
import android.view.Gravity;
import android.view.Surface;
import android.view.TextureView;
import android.view.View;
import android.widget.AdapterView;
import android.widget.ArrayAdapter;
import android.widget.CheckBox;
import android.widget.CompoundButton;
import android.widget.FrameLayout;
import android.widget.LinearLayout;
import android.widget.Spinner;
import android.widget.TextView;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.tfpose.demo.pose.Affine;
import org.tfpose.demo.pose.ModelSpec;
import org.tfpose.demo.pose.PoseResult;
import org.tfpose.demo.pose.YuvConverter;

/**
 * Camera preview, the skeletons of the people in view with their track ids, and what each
 * frame cost. The UI only: the model and the tracking run in {@link PoseEstimator}, geometry,
 * decoding and tracking rules in {@code pose}.
 */
public final class MainActivity extends Activity {
  private static final int FRAME_WIDTH = 640;
  private static final int FRAME_HEIGHT = 480;
  private static final Integer[] THREADS = {1, 2, 4};

  private TextureView preview;
  private OverlayView overlay;
  private TextView status;
  private final List<ModelSpec> models = new ArrayList<>();
  private HandlerThread worker;
  private Handler handler;
  private CameraDevice camera;
  private ImageReader reader;
  private int sensorDegrees = 90;
  private volatile PoseEstimator estimator;
  private int modelChoice;
  private int threadChoice;
  private long lastFrameNanos;
  /** Keypoints through the One-Euro filter (PoseTracker); read on the worker thread. */
  private volatile boolean smoothing = true;

  @Override
  protected void onCreate(Bundle state) {
    super.onCreate(state);
    preview = new TextureView(this);
    overlay = new OverlayView(this);
    status = new TextView(this);
    status.setTextColor(0xFFFFFFFF);
    status.setBackgroundColor(0x99000000);
    status.setPadding(16, 8, 16, 8);
    loadModelList();
    FrameLayout root = new FrameLayout(this);
    root.addView(preview);
    root.addView(overlay);
    LinearLayout bar = new LinearLayout(this);
    bar.setOrientation(LinearLayout.VERTICAL);
    bar.setBackgroundColor(0x66000000);
    bar.addView(modelPicker());
    bar.addView(picker(Arrays.asList(THREADS), new Choice() {
      @Override
      public void chosen(int index) {
        threadChoice = index;
      }
    }, " thread(s)"));
    bar.addView(smoothingToggle());
    bar.addView(status);
    root.addView(bar, new FrameLayout.LayoutParams(FrameLayout.LayoutParams.MATCH_PARENT,
        FrameLayout.LayoutParams.WRAP_CONTENT, Gravity.TOP));
    setContentView(root);
  }

  private CheckBox smoothingToggle() {
    CheckBox box = new CheckBox(this);
    box.setText("smooth keypoints (One-Euro filter)");
    box.setTextColor(0xFFFFFFFF);
    box.setChecked(smoothing);
    box.setOnCheckedChangeListener(new CompoundButton.OnCheckedChangeListener() {
      @Override
      public void onCheckedChanged(CompoundButton button, boolean checked) {
        smoothing = checked;
      }
    });
    return box;
  }

  private interface Choice {
    void chosen(int index);
  }

  private Spinner modelPicker() {
    List<String> labels = new ArrayList<>();
    for (ModelSpec m : models) {
      labels.add(m.label);
    }
    return picker(labels, new Choice() {
      @Override
      public void chosen(int index) {
        modelChoice = index;
      }
    }, "");
  }

  private <T> Spinner picker(List<T> items, Choice choice, String suffix) {
    List<String> labels = new ArrayList<>();
    for (T item : items) {
      labels.add(item + suffix);
    }
    Spinner spinner = new Spinner(this);
    spinner.setAdapter(new ArrayAdapter<>(this, android.R.layout.simple_spinner_dropdown_item,
        labels));
    spinner.setOnItemSelectedListener(new AdapterView.OnItemSelectedListener() {
      @Override
      public void onItemSelected(AdapterView<?> parent, View view, int position, long id) {
        choice.chosen(position);
        reloadModel();
      }

      @Override
      public void onNothingSelected(AdapterView<?> parent) {}
    });
    return spinner;
  }

  /** The bundled models: every assets/models/NAME.properties beside its NAME.tflite. */
  private void loadModelList() {
    models.clear();
    try {
      for (String name : getAssets().list("models")) {
        if (name.endsWith(".properties")) {
          String file = name.replace(".properties", ".tflite");
          try (InputStream in = getAssets().open("models/" + name)) {
            models.add(ModelSpec.read(file, in));
          }
        }
      }
    } catch (IOException e) {
      say("model list: " + e.getMessage());
    }
    if (models.isEmpty()) {
      say("No models bundled: build the APK with MODELS=... (android_demo/README.md).");
    }
  }

  private void reloadModel() {
    if (handler == null || models.isEmpty()) {
      return;
    }
    handler.post(new Runnable() {
      @Override
      public void run() {
        loadModel();
      }
    });
  }

  /** On the worker thread: close the current model, open the chosen one. */
  private void loadModel() {
    PoseEstimator old = estimator;
    estimator = null;
    if (old != null) {
      old.close();
    }
    ModelSpec spec = models.get(Math.min(modelChoice, models.size() - 1));
    if (!PoseEstimator.runtimeAvailable()) {
      say("The TensorFlow Lite / LCE runtime is not in this APK (built without LCE_AAR): "
          + "camera only. Rebuild with LCE_AAR=path/to/lce-lite.aar.");
      return;
    }
    try {
      estimator = new PoseEstimator(getAssets(), spec, THREADS[threadChoice]);
      say(spec.label + ": loaded");
    } catch (IOException | RuntimeException | LinkageError e) {
      say(spec.label + ": cannot load (" + e.getMessage() + ")");
    }
  }

  private void say(final String text) {
    runOnUiThread(new Runnable() {
      @Override
      public void run() {
        status.setText(text);
      }
    });
  }

  @Override
  protected void onResume() {
    super.onResume();
    worker = new HandlerThread("pose");
    worker.start();
    handler = new Handler(worker.getLooper());
    if (checkSelfPermission(Manifest.permission.CAMERA) != PackageManager.PERMISSION_GRANTED) {
      requestPermissions(new String[] {Manifest.permission.CAMERA}, 1);
      return;
    }
    startCamera();
  }

  @Override
  public void onRequestPermissionsResult(int code, String[] permissions, int[] results) {
    if (results.length > 0 && results[0] == PackageManager.PERMISSION_GRANTED) {
      startCamera();
    } else {
      say("The demo needs the camera permission.");
    }
  }

  @Override
  protected void onPause() {
    if (camera != null) {
      camera.close();
      camera = null;
    }
    if (reader != null) {
      reader.close();
      reader = null;
    }
    // Closed on the worker, after any frame it is still running (quitSafely runs what is queued).
    final PoseEstimator old = estimator;
    estimator = null;
    handler.post(new Runnable() {
      @Override
      public void run() {
        if (old != null) {
          old.close();
        }
      }
    });
    worker.quitSafely();
    handler = null;
    super.onPause();
  }

  private void startCamera() {
    reloadModel();
    if (preview.isAvailable()) {
      openCamera();
      return;
    }
    preview.setSurfaceTextureListener(new TextureView.SurfaceTextureListener() {
      @Override
      public void onSurfaceTextureAvailable(SurfaceTexture texture, int width, int height) {
        openCamera();
      }

      @Override
      public void onSurfaceTextureSizeChanged(SurfaceTexture texture, int width, int height) {}

      @Override
      public boolean onSurfaceTextureDestroyed(SurfaceTexture texture) {
        return true;
      }

      @Override
      public void onSurfaceTextureUpdated(SurfaceTexture texture) {}
    });
  }

  private void openCamera() {
    CameraManager manager = (CameraManager) getSystemService(Context.CAMERA_SERVICE);
    try {
      String id = backCamera(manager);
      if (id == null) {
        say("No back camera.");
        return;
      }
      Integer degrees = manager.getCameraCharacteristics(id)
          .get(CameraCharacteristics.SENSOR_ORIENTATION);
      sensorDegrees = degrees == null ? 90 : degrees;
      reader = ImageReader.newInstance(FRAME_WIDTH, FRAME_HEIGHT, ImageFormat.YUV_420_888, 2);
      reader.setOnImageAvailableListener(new ImageReader.OnImageAvailableListener() {
        @Override
        public void onImageAvailable(ImageReader source) {
          onFrame(source);
        }
      }, handler);
      manager.openCamera(id, new CameraDevice.StateCallback() {
        @Override
        public void onOpened(CameraDevice device) {
          camera = device;
          startSession();
        }

        @Override
        public void onDisconnected(CameraDevice device) {
          device.close();
        }

        @Override
        public void onError(CameraDevice device, int error) {
          device.close();
          say("Camera error " + error);
        }
      }, handler);
    } catch (CameraAccessException | SecurityException e) {
      say("Camera: " + e.getMessage());
    }
  }

  private static String backCamera(CameraManager manager) throws CameraAccessException {
    for (String id : manager.getCameraIdList()) {
      Integer facing = manager.getCameraCharacteristics(id).get(CameraCharacteristics.LENS_FACING);
      if (facing != null && facing == CameraMetadata.LENS_FACING_BACK) {
        return id;
      }
    }
    return null;
  }

  private void startSession() {
    SurfaceTexture texture = preview.getSurfaceTexture();
    texture.setDefaultBufferSize(FRAME_WIDTH, FRAME_HEIGHT);
    runOnUiThread(new Runnable() {
      @Override
      public void run() {
        fillPreview();
      }
    });
    Surface surface = new Surface(texture);
    try {
      CaptureRequest.Builder request = camera.createCaptureRequest(CameraDevice.TEMPLATE_PREVIEW);
      request.addTarget(surface);
      request.addTarget(reader.getSurface());
      camera.createCaptureSession(Arrays.asList(surface, reader.getSurface()),
          new CameraCaptureSession.StateCallback() {
            @Override
            public void onConfigured(CameraCaptureSession session) {
              try {
                session.setRepeatingRequest(request.build(), null, handler);
              } catch (CameraAccessException e) {
                say("Camera: " + e.getMessage());
              }
            }

            @Override
            public void onConfigureFailed(CameraCaptureSession session) {
              say("Camera session failed");
            }
          }, handler);
    } catch (CameraAccessException e) {
      say("Camera: " + e.getMessage());
    }
  }

  /** Centre-crop the (portrait, upright) preview into the view, as OverlayView maps points. */
  private void fillPreview() {
    int w = preview.getWidth();
    int h = preview.getHeight();
    int uprightW = sensorDegrees % 180 == 0 ? FRAME_WIDTH : FRAME_HEIGHT;
    int uprightH = sensorDegrees % 180 == 0 ? FRAME_HEIGHT : FRAME_WIDTH;
    float scale = Math.max(w / (float) uprightW, h / (float) uprightH);
    Matrix matrix = new Matrix();
    matrix.setScale(scale * uprightW / w, scale * uprightH / h, w / 2f, h / 2f);
    preview.setTransform(matrix);
  }

  private void onFrame(ImageReader source) {
    Image image = source.acquireLatestImage();
    if (image == null) {
      return;
    }
    PoseEstimator model = estimator;
    int[] argb;
    long stamp = image.getTimestamp();
    try {
      if (model == null) {
        return;
      }
      Image.Plane[] planes = image.getPlanes();
      argb = YuvConverter.toArgb(image.getWidth(), image.getHeight(), bytes(planes[0]),
          planes[0].getRowStride(), bytes(planes[1]), bytes(planes[2]), planes[1].getRowStride(),
          planes[1].getPixelStride());
    } finally {
      image.close();
    }
    int uprightW = sensorDegrees % 180 == 0 ? FRAME_WIDTH : FRAME_HEIGHT;
    int uprightH = sensorDegrees % 180 == 0 ? FRAME_HEIGHT : FRAME_WIDTH;
    long now = System.nanoTime();
    // The frame's capture time (a monotonic clock); the tracker's filters need increasing times.
    double seconds = (stamp > 0 ? stamp : now) / 1e9;
    boolean smooth = smoothing;
    PoseResult pose = model.estimate(argb, FRAME_WIDTH, FRAME_HEIGHT,
        Affine.upright(FRAME_WIDTH, FRAME_HEIGHT, sensorDegrees, false), uprightW, uprightH,
        seconds, smooth);
    overlay.show(pose);
    double fps = lastFrameNanos == 0 ? 0 : 1e9 / (now - lastFrameNanos);
    lastFrameNanos = now;
    String crops = pose.followed ? pose.modelRuns + " crop(s) from the last frame"
        : "whole frame";
    say(String.format(Locale.ROOT, "%s, %d thread(s): %.1f fps, model %.1f ms, pre %.1f ms, "
        + "decode+track %.1f ms\n%d people, %s, smoothing %s", model.spec.label,
        THREADS[threadChoice], fps, pose.inferenceMs, pose.preprocessMs, pose.decodeMs,
        pose.persons.length, crops, smooth ? "on" : "off"));
  }

  private static byte[] bytes(Image.Plane plane) {
    ByteBuffer buffer = plane.getBuffer();
    byte[] out = new byte[buffer.remaining()];
    buffer.get(out);
    return out;
  }
}
