package org.tfpose.demo.pose;

/**
 * A 2x3 affine map between pixel grids, the Java twin of {@code tfpose.codecs.geometry}.
 *
 * <p>Pixel centres sit at integer coordinates. A crop is a centre and a size in frame pixels
 * mapped onto the whole output grid, so the model input and its heatmaps come from the same box
 * at any stride. Where the centre lands is the model's {@link Convention}. Python builds the same
 * matrices; the golden files check the two agree.
 */
public final class Affine {
  /** Row-major {a, b, tx, c, d, ty}: u = a x + b y + tx, v = c x + d y + ty. */
  public final double[] m;

  public Affine(double a, double b, double tx, double c, double d, double ty) {
    m = new double[] {a, b, tx, c, d, ty};
  }

  /**
   * The pixel conventions of {@code tfpose.codecs.geometry} (the model's {@code convention}
   * property): where a box centre lands on a grid. Both scale a box of width {@code w} onto
   * {@code W} pixels by {@code W / w}.
   */
  public enum Convention {
    /** tfpose's: the box's edges on the grid's pixel edges, the centre on {@code (W - 1) / 2}. */
    TFPOSE,
    /** The HRNet / SimpleBaseline / HigherHRNet authors' (imported weights): on {@code W / 2}. */
    MSRA;

    /** Where a box centre lands on a grid {@code size} pixels wide (or high). */
    public double gridCentre(int size) {
      return this == TFPOSE ? (size - 1.0) / 2.0 : size / 2.0;
    }
  }

  /**
   * The box (centre, size in frame pixels) onto an {@code outH x outW} grid, no rotation, its
   * centre where {@code convention} puts it.
   */
  public static Affine fromBox(Crop crop, int outH, int outW, Convention convention) {
    double kx = outW / crop.width;
    double ky = outH / crop.height;
    return new Affine(kx, 0, convention.gridCentre(outW) - kx * crop.centerX,
        0, ky, convention.gridCentre(outH) - ky * crop.centerY);
  }

  /** This map, then {@code next}: frame -> upright -> model input, say. */
  public Affine then(Affine next) {
    double[] n = next.m;
    return new Affine(n[0] * m[0] + n[1] * m[3], n[0] * m[1] + n[1] * m[4],
        n[0] * m[2] + n[1] * m[5] + n[2], n[3] * m[0] + n[4] * m[3], n[3] * m[1] + n[4] * m[4],
        n[3] * m[2] + n[4] * m[5] + n[5]);
  }

  /**
   * A camera frame of {@code width x height} (sensor orientation) to the upright image a person
   * stands in: turned {@code degrees} clockwise (0, 90, 180, 270: the sensor orientation relative
   * to the display), then mirrored for a front camera. Exact on the pixel grid.
   */
  public static Affine upright(int width, int height, int degrees, boolean mirror) {
    Affine turn;
    switch (((degrees % 360) + 360) % 360) {
      case 0: turn = new Affine(1, 0, 0, 0, 1, 0); break;
      case 90: turn = new Affine(0, -1, height - 1, 1, 0, 0); break;
      case 180: turn = new Affine(-1, 0, width - 1, 0, -1, height - 1); break;
      case 270: turn = new Affine(0, 1, 0, -1, 0, width - 1); break;
      default: throw new IllegalArgumentException("rotation must be a multiple of 90: " + degrees);
    }
    int uprightWidth = degrees % 180 == 0 ? width : height;
    return mirror ? turn.then(new Affine(-1, 0, uprightWidth - 1, 0, 1, 0)) : turn;
  }

  public Affine inverse() {
    double det = m[0] * m[4] - m[1] * m[3];
    if (det == 0) {
      throw new IllegalStateException("singular affine");
    }
    double a = m[4] / det;
    double b = -m[1] / det;
    double c = -m[3] / det;
    double d = m[0] / det;
    return new Affine(a, b, -(a * m[2] + b * m[5]), c, d, -(c * m[2] + d * m[5]));
  }

  public double x(double x, double y) {
    return m[0] * x + m[1] * y + m[2];
  }

  public double y(double x, double y) {
    return m[3] * x + m[4] * y + m[5];
  }

  /** The region of a frame a model input is cut from: centre and size in frame pixels. */
  public static final class Crop {
    public final double centerX;
    public final double centerY;
    public final double width;
    public final double height;

    public Crop(double centerX, double centerY, double width, double height) {
      this.centerX = centerX;
      this.centerY = centerY;
      this.width = width;
      this.height = height;
    }

    /**
     * A person box {@code (x, y, w, h)} grown to the model's aspect ratio {@code w / h} and
     * scaled by {@code padding} (1.25 in training and evaluation).
     */
    public static Crop ofBox(double x, double y, double w, double h, double aspect,
        double padding) {
      double cx = x + 0.5 * w;
      double cy = y + 0.5 * h;
      w = Math.max(w, 1.0);
      h = Math.max(h, 1.0);
      if (w > aspect * h) {
        h = w / aspect;
      } else {
        w = h * aspect;
      }
      return new Crop(cx, cy, w * padding, h * padding);
    }

    /**
     * The whole frame fitted into a model input of {@code inputH x inputW}: aspect kept,
     * centred, the rest padding. The frame's pixel edges run from -0.5 to W - 0.5. Its centre
     * ({@code geometry.whole_image_center_size}): TFPOSE, the fitted box's, {@code (W - 1) / 2},
     * which every top-down crop takes under either convention (as {@code
     * tfpose.inference.images.crop_box}); MSRA, HigherHRNet's whole pixel {@code
     * floor(W / 2 + 0.5)}, for bottom-up models under that convention.
     */
    public static Crop wholeFrame(int frameH, int frameW, int inputH, int inputW,
        Convention centre) {
      Crop fitted = ofBox(-0.5, -0.5, frameW, frameH, inputW / (double) inputH, 1.0);
      return centre == Convention.TFPOSE ? fitted : new Crop(Math.floor(frameW / 2.0 + 0.5),
          Math.floor(frameH / 2.0 + 0.5), fitted.width, fitted.height);
    }
  }
}
