package org.tfpose.demo.pose;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Track ids, smoothed keypoints and next-frame crops for the persons of successive video frames:
 * the Java twin of {@code tfpose.inference.tracking.PoseTracker} (its module docstring states
 * the rules; the golden files {@code tracking_clip*.txt} check the two agree).
 *
 * <p>Each frame's persons are matched to the live tracks by OKS (COCO's {@code exp(-d^2 / (2
 * area (2 sigma)^2))} averaged over the keypoints scored above {@link #CONFIDENT} in both the
 * track's last observation and the person, {@code area} the track's last box area), Hungarian
 * on {@code 1 - OKS} with pairs below {@code matchOks} gated out. An unmatched person scoring at
 * least {@code minStartScore} starts a track with the next id (from 1, never reused); an
 * unmatched track counts a miss and ends after more than {@code maxMissed} in a row. With
 * smoothing, x and y go through the track's One-Euro filter with scale sqrt(w h) of the
 * person's box; the filter runs on across misses.
 */
public final class PoseTracker {
  /** A keypoint scored above this counts for OKS and for boxes. */
  public static final double CONFIDENT = 0.1;
  /** OKS sigma for keypoint sets without their own. */
  public static final double UNIFORM_SIGMA = 0.07;
  /** Fewer confident keypoints give no box. */
  public static final int MIN_BOX_KEYPOINTS = 3;

  public static final double DEFAULT_MATCH_OKS = 0.3;
  public static final int DEFAULT_MAX_MISSED = 10;
  public static final double DEFAULT_MIN_START_SCORE = 0.3;
  /** {@link #nextBoxes} defaults: growth of the box around the keypoints, least mean score. */
  public static final double DEFAULT_GROW = 1.25;
  public static final double DEFAULT_MIN_SCORE = 0.3;

  /**
   * COCO's OKS sigmas, in {@link KeypointSet#COCO_NAMES} order, as {@code tfpose/keypoints.py}
   * has them (tenths of its table); the JVM tests compare them with the golden file.
   */
  public static final double[] COCO_SIGMAS = tenths(0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79,
      0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89);

  private static double[] tenths(double... values) {
    double[] out = new double[values.length];
    for (int i = 0; i < values.length; i++) {
      out[i] = values[i] / 10.0;
    }
    return out;
  }

  private static final class Track {
    final int id;
    final OneEuroFilter smoother;
    double[][] points; // last observed keypoints, [K][3]
    double area; // its box area
    int age = 1;
    int hits = 1;
    int missed;

    Track(int id, OneEuroFilter smoother) {
      this.id = id;
      this.smoother = smoother;
    }
  }

  public final int numKeypoints;
  public final SmoothingSettings smoothing;
  public final double matchOks;
  public final int maxMissed;
  public final double minStartScore;
  private final double[] variances;
  private final List<Track> tracks = new ArrayList<>();
  private int nextId = 1;
  private boolean started;
  private double lastT;

  /** The default matching rules; {@code smoothing} null: raw keypoints. */
  public PoseTracker(int numKeypoints, double[] sigmas, SmoothingSettings smoothing) {
    this(numKeypoints, sigmas, smoothing, DEFAULT_MATCH_OKS, DEFAULT_MAX_MISSED,
        DEFAULT_MIN_START_SCORE);
  }

  /**
   * @param numKeypoints K of the persons' {@code [K][3]} keypoints
   * @param sigmas the keypoint set's OKS sigmas, or null for {@link #UNIFORM_SIGMA} everywhere
   * @param smoothing One-Euro settings, or null for no smoothing
   * @param matchOks the lowest OKS at which a person continues a track
   * @param maxMissed a track ends after more consecutive frames without its person than this
   * @param minStartScore the lowest person score that starts a track
   */
  public PoseTracker(int numKeypoints, double[] sigmas, SmoothingSettings smoothing,
      double matchOks, int maxMissed, double minStartScore) {
    if (!(matchOks >= 0.0 && matchOks <= 1.0)) {
      throw new IllegalArgumentException("matchOks must be within [0, 1], got " + matchOks);
    }
    if (maxMissed < 0) {
      throw new IllegalArgumentException("maxMissed must be >= 0, got " + maxMissed);
    }
    if (sigmas != null && sigmas.length != numKeypoints) {
      throw new IllegalArgumentException(sigmas.length + " sigmas for " + numKeypoints
          + " keypoints");
    }
    this.numKeypoints = numKeypoints;
    this.smoothing = smoothing;
    this.matchOks = matchOks;
    this.maxMissed = maxMissed;
    this.minStartScore = minStartScore;
    variances = new double[numKeypoints];
    for (int k = 0; k < numKeypoints; k++) {
      double twoSigma = 2 * (sigmas == null ? UNIFORM_SIGMA : sigmas[k]);
      variances[k] = twoSigma * twoSigma;
    }
  }

  /** Ids of the live tracks (seen within the last maxMissed frames), oldest first. */
  public int[] trackIds() {
    int[] ids = new int[tracks.size()];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = tracks.get(i).id;
    }
    return ids;
  }

  /**
   * Matches the persons of the frame at time {@code t} (seconds, increasing from call to call)
   * to the tracks; returns the persons that got a track, in the given order.
   */
  public List<TrackedPose> update(List<Person> persons, double t) {
    OneEuroFilter.checkTime(t);
    if (started && t <= lastT) {
      throw new IllegalArgumentException("time must increase from frame to frame: got " + t
          + " after " + lastT);
    }
    double[][][] points = new double[persons.size()][][];
    for (int i = 0; i < points.length; i++) {
      float[][] keypoints = persons.get(i).keypoints;
      if (keypoints.length != numKeypoints) {
        throw new IllegalArgumentException("person " + i + " has " + keypoints.length
            + " keypoints; the tracker needs " + numKeypoints);
      }
      points[i] = new double[numKeypoints][];
      for (int k = 0; k < numKeypoints; k++) {
        if (keypoints[k].length != 3) {
          throw new IllegalArgumentException("person " + i + " keypoint " + k + " has "
              + keypoints[k].length + " values, not x, y, score");
        }
        points[i][k] = new double[] {keypoints[k][0], keypoints[k][1], keypoints[k][2]};
      }
    }
    started = true;
    lastT = t;

    int[] match = match(points);
    TrackedPose[] results = new TrackedPose[persons.size()];
    boolean[] matched = new boolean[persons.size()];
    for (int ti = 0; ti < tracks.size(); ti++) {
      Track track = tracks.get(ti);
      track.age++;
      int i = match[ti];
      if (i >= 0) {
        int gap = track.missed;
        track.missed = 0;
        track.hits++;
        matched[i] = true;
        results[i] = observe(track, persons.get(i), points[i], t, gap);
      } else {
        track.missed++;
      }
    }
    List<Track> alive = new ArrayList<>();
    for (Track track : tracks) {
      if (track.missed <= maxMissed) {
        alive.add(track);
      }
    }
    tracks.clear();
    tracks.addAll(alive);
    for (int i = 0; i < persons.size(); i++) {
      if (!matched[i] && persons.get(i).score >= minStartScore) {
        Track track = new Track(nextId++, smoothing == null ? null : smoothing.makeFilter());
        tracks.add(track);
        results[i] = observe(track, persons.get(i), points[i], t, 0);
      }
    }
    List<TrackedPose> out = new ArrayList<>();
    for (TrackedPose r : results) {
      if (r != null) {
        out.add(r);
      }
    }
    return out;
  }

  /** Track index -> person index (-1: none) for the pairs matched by OKS. */
  private int[] match(double[][][] points) {
    int[] result = new int[tracks.size()];
    Arrays.fill(result, -1);
    if (tracks.isEmpty() || points.length == 0) {
      return result;
    }
    double[][] similarity = new double[tracks.size()][points.length];
    double[][] cost = new double[tracks.size()][points.length];
    // A gated pair costs more than any set of allowed pairs could save by using it.
    double gate = Math.min(tracks.size(), points.length) + 1.0;
    for (int r = 0; r < tracks.size(); r++) {
      Track track = tracks.get(r);
      for (int c = 0; c < points.length; c++) {
        similarity[r][c] = oks(track.points, points[c], track.area);
        cost[r][c] = similarity[r][c] >= matchOks ? 1.0 - similarity[r][c] : gate;
      }
    }
    int[] assigned = Assignment.solve(cost);
    for (int r = 0; r < assigned.length; r++) {
      int c = assigned[r];
      if (c >= 0 && similarity[r][c] >= matchOks) {
        result[r] = c;
      }
    }
    return result;
  }

  /** OKS of two poses over the keypoints confident in both (0 when there are none). */
  private double oks(double[][] trackPoints, double[][] points, double area) {
    double sum = 0.0;
    int counted = 0;
    double scale = 2 * Math.max(area, 1.0);
    for (int k = 0; k < numKeypoints; k++) {
      if (trackPoints[k][2] > CONFIDENT && points[k][2] > CONFIDENT) {
        double dx = trackPoints[k][0] - points[k][0];
        double dy = trackPoints[k][1] - points[k][1];
        sum += Math.exp(-(dx * dx + dy * dy) / variances[k] / scale);
        counted++;
      }
    }
    return counted == 0 ? 0.0 : sum / counted;
  }

  private TrackedPose observe(Track track, Person person, double[][] points, double t,
      int gap) {
    double[] box = person.box != null ? person.box.clone() : tightBox(points);
    track.points = points;
    track.area = box[2] * box[3];
    Person shown = person;
    if (track.smoother != null) {
      double scale = Math.max(Math.sqrt(Math.max(box[2] * box[3], 0.0)), 1.0);
      double[] xy = new double[2 * numKeypoints];
      for (int k = 0; k < numKeypoints; k++) {
        xy[2 * k] = points[k][0];
        xy[2 * k + 1] = points[k][1];
      }
      double[] filtered = track.smoother.filter(t, xy, scale);
      float[][] smoothed = new float[numKeypoints][];
      for (int k = 0; k < numKeypoints; k++) {
        smoothed[k] = new float[] {(float) filtered[2 * k], (float) filtered[2 * k + 1],
            person.keypoints[k][2]};
      }
      shown = new Person(smoothed, person.score,
          person.box != null ? person.box.clone() : tightBox(smoothed));
    }
    return new TrackedPose(track.id, shown, person, track.age, track.hits, gap);
  }

  /** {x, y, w, h} around the confident keypoints (all of them when none is). */
  static double[] tightBox(double[][] keypoints) {
    boolean any = false;
    for (double[] k : keypoints) {
      any |= k[2] > CONFIDENT;
    }
    double[] low = {Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY};
    double[] high = {Double.NEGATIVE_INFINITY, Double.NEGATIVE_INFINITY};
    for (double[] k : keypoints) {
      if (!any || k[2] > CONFIDENT) {
        for (int d = 0; d < 2; d++) {
          low[d] = Math.min(low[d], k[d]);
          high[d] = Math.max(high[d], k[d]);
        }
      }
    }
    return new double[] {low[0], low[1], high[0] - low[0], high[1] - low[1]};
  }

  /**
   * The tight box of float keypoints. Python compares a float32 array's scores with the
   * threshold in float32 and takes the differences in float32; so does this.
   */
  static double[] tightBox(float[][] keypoints) {
    float confident = (float) CONFIDENT;
    boolean any = false;
    for (float[] k : keypoints) {
      any |= k[2] > confident;
    }
    float[] low = {Float.POSITIVE_INFINITY, Float.POSITIVE_INFINITY};
    float[] high = {Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY};
    for (float[] k : keypoints) {
      if (!any || k[2] > confident) {
        for (int d = 0; d < 2; d++) {
          low[d] = Math.min(low[d], k[d]);
          high[d] = Math.max(high[d], k[d]);
        }
      }
    }
    return new double[] {low[0], low[1], high[0] - low[0], high[1] - low[1]};
  }

  /** {@link #nextBoxes(int, int, double, double)} with the default grow and least score. */
  public List<double[]> nextBoxes(int imageHeight, int imageWidth) {
    return nextBoxes(imageHeight, imageWidth, DEFAULT_GROW, DEFAULT_MIN_SCORE);
  }

  /**
   * Boxes {x, y, w, h} to crop the next frame of {@code imageHeight x imageWidth} at: one per
   * track seen in the last frame with a mean keypoint score of at least {@code minScore},
   * around its last observed keypoints ({@link #boxAround}); null when no track qualifies:
   * search the whole frame again.
   */
  public List<double[]> nextBoxes(int imageHeight, int imageWidth, double grow,
      double minScore) {
    List<double[]> boxes = new ArrayList<>();
    for (Track track : tracks) {
      if (track.missed > 0) {
        continue;
      }
      double sum = 0.0;
      for (double[] k : track.points) {
        sum += k[2];
      }
      if (sum / track.points.length < minScore) {
        continue;
      }
      double[] box = boxAround(track.points, grow, imageHeight, imageWidth, CONFIDENT);
      if (box != null) {
        boxes.add(box);
      }
    }
    return boxes.isEmpty() ? null : boxes;
  }

  /**
   * {x, y, w, h} around the keypoints scored above {@code minKeypointScore}, grown by {@code
   * grow} about its centre and clipped to the image; null with fewer than {@link
   * #MIN_BOX_KEYPOINTS} such keypoints (non-finite ones do not count) or when nothing of the box
   * is inside the image.
   */
  public static double[] boxAround(double[][] keypoints, double grow, double imageHeight,
      double imageWidth, double minKeypointScore) {
    OneEuroFilter.checkPositive("grow", grow, false);
    if (!(imageHeight > 0 && imageWidth > 0)) {
      throw new IllegalArgumentException("image size must be positive, got " + imageHeight
          + " x " + imageWidth);
    }
    double[] low = {Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY};
    double[] high = {Double.NEGATIVE_INFINITY, Double.NEGATIVE_INFINITY};
    int count = 0;
    for (double[] k : keypoints) {
      if (k.length != 3) {
        throw new IllegalArgumentException("a keypoint is x, y, score; got " + k.length
            + " values");
      }
      if (k[2] > minKeypointScore && isFinite(k[0]) && isFinite(k[1])) {
        count++;
        for (int d = 0; d < 2; d++) {
          low[d] = Math.min(low[d], k[d]);
          high[d] = Math.max(high[d], k[d]);
        }
      }
    }
    if (count < MIN_BOX_KEYPOINTS) {
      return null;
    }
    double cx = (low[0] + high[0]) / 2;
    double cy = (low[1] + high[1]) / 2;
    double halfW = (high[0] - low[0]) * grow / 2;
    double halfH = (high[1] - low[1]) * grow / 2;
    double x0 = Math.max(cx - halfW, 0.0);
    double y0 = Math.max(cy - halfH, 0.0);
    double x1 = Math.min(cx + halfW, imageWidth);
    double y1 = Math.min(cy + halfH, imageHeight);
    if (x1 <= x0 || y1 <= y0) {
      return null;
    }
    return new double[] {x0, y0, x1 - x0, y1 - y0};
  }

  private static boolean isFinite(double v) {
    return !Double.isNaN(v) && !Double.isInfinite(v);
  }
}
