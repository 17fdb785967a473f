package org.tfpose.demo.pose;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;

/**
 * Associative-embedding grouping of a bottom-up model's outputs into persons, the Java twin of
 * {@code tfpose.codecs.grouping.group_keypoints} (golden files {@code grouping_*.txt} keep the
 * two in step). Everything is in grouping-grid pixels.
 *
 * <ol>
 *   <li>Peaks: a max-pool NMS ({@code nmsKernel}); of equal maxima within one window only the
 *       last in raster order stays (Python's marker dilation), then the {@code maxCandidates}
 *       strongest peaks above {@code detectionThreshold} per joint, strongest first.
 *   <li>Matching joint by joint in {@code jointOrder}: the candidates are assigned to the first
 *       {@code maxCandidates} persons by {@link Assignment#solve} on the cost
 *       {@code rint(tag distance) * 100 - value} (or the plain distance); pairs not closer than
 *       {@code tagThreshold} are barred, and a candidate left without a person starts one.
 *   <li>Person score: mean over all K joints of the matched values (0 for missing joints); the
 *       {@code maxCandidates} best persons are kept, best first (a stable sort).
 *   <li>Refinement: a missing joint takes the location maximising
 *       {@code heatmap - rint(distance of its tag to the person's mean tag)}.
 *   <li>Sub-pixel step: {@link Adjust#QUARTER} (a quarter pixel toward the higher neighbour) or
 *       {@link Adjust#NONE}. Python's {@code adjust="dark"} is not implemented here: the app
 *       groups LitePose outputs, which use the quarter step.
 * </ol>
 *
 * <p>To give Python's numbers bit for bit, the arithmetic is float32 where numpy's is, rounding is
 * half to even ({@link Math#rint}, as {@code np.round}), and means and score sums add in numpy's
 * order (pairwise for contiguous reductions, row by row for the mean of multi-dimensional tags).
 * Among candidates of one joint with exactly equal values (frequent in quantised outputs) both
 * take the earlier pixel in raster order first (Python sorts stably). What can still differ is
 * the assignment itself when two pairings cost exactly the same: {@link Assignment} then picks
 * one of the equally cheap ones, not necessarily scipy's.
 */
public final class AssociativeGrouping {
  private AssociativeGrouping() {}

  /** Python's {@code JOINT_ORDERS["coco"]}: head and trunk first, limbs outward. */
  private static final int[] COCO_JOINT_ORDER =
      {0, 1, 2, 3, 4, 5, 6, 11, 12, 7, 8, 9, 10, 13, 14, 15, 16};

  /** Barred assignment cost: a pair too far apart in tag space (as Python's {@code _BARRED}). */
  private static final float BARRED = 1e6f;

  /** Sub-pixel step after grouping. */
  public enum Adjust { QUARTER, NONE }

  /** Grouping settings, the fields of Python's {@code GroupingConfig} that grouping uses. */
  public static final class Config {
    /** {@code GroupingConfig()} with the COCO joint order (LitePose's test settings). */
    public static final Config DEFAULT =
        new Config(5, 30, 0.1f, 1.0f, true, true, false, Adjust.QUARTER, COCO_JOINT_ORDER);

    /** Max-pool window of the peak NMS in grid pixels (odd). */
    public final int nmsKernel;
    /** Peaks kept per joint, persons matched against, persons returned. */
    public final int maxCandidates;
    /** Peaks at or below it are not candidates; {@code >= 0} here (see the constructor). */
    public final float detectionThreshold;
    /** A candidate not closer than this (tag distance) to any person starts one. */
    public final float tagThreshold;
    /** Cost {@code rint(distance) * 100 - value} (true) or the plain distance (false). */
    public final boolean useDetectionValue;
    /** Fill missing joints from the heatmaps. */
    public final boolean refine;
    /** Refine only from locations whose tag is within {@code tagThreshold} of the person's. */
    public final boolean refineWithinTagThreshold;
    public final Adjust adjust;
    private final int[] jointOrder;

    /**
     * As {@code GroupingConfig}'s checks, plus one of Java's own: {@code detectionThreshold}
     * must not be negative (below zero Python's candidates include the non-peak pixels, which
     * this class does not model).
     *
     * @param jointOrder matching order, a permutation of {@code 0..K-1}; null for
     *     {@code 0..K-1}
     */
    public Config(int nmsKernel, int maxCandidates, float detectionThreshold, float tagThreshold,
        boolean useDetectionValue, boolean refine, boolean refineWithinTagThreshold,
        Adjust adjust, int[] jointOrder) {
      if (nmsKernel < 1 || nmsKernel % 2 == 0) {
        throw new IllegalArgumentException(
            "nmsKernel must be a positive odd number, got " + nmsKernel);
      }
      if (maxCandidates < 1) {
        throw new IllegalArgumentException("maxCandidates must be >= 1, got " + maxCandidates);
      }
      if (!(detectionThreshold >= 0)) {
        throw new IllegalArgumentException(
            "detectionThreshold must be >= 0, got " + detectionThreshold);
      }
      if (!(tagThreshold > 0)) {
        throw new IllegalArgumentException("tagThreshold must be positive, got " + tagThreshold);
      }
      if (adjust == null) {
        throw new IllegalArgumentException("adjust is null");
      }
      this.nmsKernel = nmsKernel;
      this.maxCandidates = maxCandidates;
      this.detectionThreshold = detectionThreshold;
      this.tagThreshold = tagThreshold;
      this.useDetectionValue = useDetectionValue;
      this.refine = refine;
      this.refineWithinTagThreshold = refineWithinTagThreshold;
      this.adjust = adjust;
      this.jointOrder = jointOrder == null ? null : jointOrder.clone();
    }

    /** The matching order (a copy), or null for {@code 0..K-1}. */
    public int[] jointOrder() {
      return jointOrder == null ? null : jointOrder.clone();
    }

    /** The order for K keypoints; an IllegalArgumentException unless a permutation of them. */
    int[] order(int keypoints) {
      if (jointOrder == null) {
        int[] order = new int[keypoints];
        for (int k = 0; k < keypoints; k++) {
          order[k] = k;
        }
        return order;
      }
      int[] sorted = jointOrder.clone();
      Arrays.sort(sorted);
      boolean permutation = sorted.length == keypoints;
      for (int k = 0; permutation && k < keypoints; k++) {
        permutation = sorted[k] == k;
      }
      if (!permutation) {
        throw new IllegalArgumentException("joint order " + Arrays.toString(jointOrder)
            + " is not a permutation of the " + keypoints + " keypoints");
      }
      return jointOrder.clone();
    }
  }

  /** Persons with their scores, best first. */
  public static final class Result {
    /** Per person {@code [K][3]}: x, y in grid pixels and the joint's value (0: not found). */
    public final List<float[][]> poses;
    /** Per person: mean of the matched joint values over all K, taken before refinement. */
    public final float[] scores;

    Result(List<float[][]> poses, float[] scores) {
      this.poses = poses;
      this.scores = scores;
    }
  }

  /**
   * Persons from one image's heatmaps and tags on the grouping grid.
   *
   * @param heatmaps {@code [H, W, K]}, row-major
   * @param tags {@code [H, W, K, L]}, row-major ({@code L = tagDim})
   * @return persons, best score first, each {@code [K][3]} (x, y, score) in grid pixels; joints
   *     never found are (0, 0, 0)
   */
  public static List<float[][]> group(float[] heatmaps, float[] tags, int height, int width,
      int keypoints, int tagDim, Config config) {
    return groupWithScores(heatmaps, tags, height, width, keypoints, tagDim, config).poses;
  }

  /** {@link #group}, with the person scores. */
  public static Result groupWithScores(float[] heatmaps, float[] tags, int height, int width,
      int keypoints, int tagDim, Config config) {
    if (height < 1 || width < 1 || keypoints < 1 || tagDim < 1) {
      throw new IllegalArgumentException("bad sizes: " + height + "x" + width + ", "
          + keypoints + " keypoints, " + tagDim + " tag dimensions");
    }
    long pixels = (long) height * width;
    if (heatmaps.length != pixels * keypoints) {
      throw new IllegalArgumentException("heatmaps have " + heatmaps.length + " values, expected "
          + height + "x" + width + "x" + keypoints);
    }
    if (tags.length != pixels * keypoints * tagDim) {
      throw new IllegalArgumentException("tags have " + tags.length + " values, expected "
          + height + "x" + width + "x" + keypoints + "x" + tagDim);
    }
    int[] order = config.order(keypoints);
    Grid grid = new Grid(heatmaps, tags, height, width, keypoints, tagDim);

    List<Person> persons = match(grid, config, order);
    int count = persons.size();
    final float[] allScores = new float[count];
    for (int p = 0; p < count; p++) {
      float[] values = new float[keypoints];
      for (int k = 0; k < keypoints; k++) {
        values[k] = persons.get(p).pose[k][2];
      }
      allScores[p] = pairwiseSum(values, keypoints) / (float) keypoints;
    }
    // np.argsort(-scores, kind="stable"): best first, ties in creation order.
    Integer[] rank = new Integer[count];
    for (int p = 0; p < count; p++) {
      rank[p] = p;
    }
    Arrays.sort(rank, new Comparator<Integer>() {
      @Override
      public int compare(Integer a, Integer b) {
        float sa = allScores[a];
        float sb = allScores[b];
        return sa > sb ? -1 : (sa < sb ? 1 : 0);
      }
    });
    int kept = Math.min(count, config.maxCandidates);
    List<float[][]> poses = new ArrayList<>(kept);
    float[][] meanTags = new float[kept][];
    float[] scores = new float[kept];
    for (int i = 0; i < kept; i++) {
      Person person = persons.get(rank[i]);
      poses.add(person.pose);
      meanTags[i] = person.meanTag(tagDim);
      scores[i] = allScores[rank[i]];
    }
    if (config.refine && kept > 0) {
      float gate = config.refineWithinTagThreshold ? config.tagThreshold : Float.POSITIVE_INFINITY;
      refine(grid, poses, meanTags, gate);
    }
    if (config.adjust == Adjust.QUARTER) {
      quarter(grid, poses);
    }
    return new Result(Collections.unmodifiableList(poses), scores);
  }

  /** The inputs with their sizes; {@code heat(k)} is joint k's map, row-major. */
  private static final class Grid {
    final float[] heatmaps;
    final float[] tags;
    final int height;
    final int width;
    final int keypoints;
    final int tagDim;

    Grid(float[] heatmaps, float[] tags, int height, int width, int keypoints, int tagDim) {
      this.heatmaps = heatmaps;
      this.tags = tags;
      this.height = height;
      this.width = width;
      this.keypoints = keypoints;
      this.tagDim = tagDim;
    }

    float heat(int pixel, int joint) {
      return heatmaps[pixel * keypoints + joint];
    }

    float tag(int pixel, int joint, int d) {
      return tags[(pixel * keypoints + joint) * tagDim + d];
    }
  }

  /** A person being built: its pose and the tags of its matched joints, in matching order. */
  private static final class Person {
    final float[][] pose;
    final List<float[]> tags = new ArrayList<>();

    Person(int keypoints) {
      pose = new float[keypoints][3];
    }

    /** {@code np.mean(tags, axis=0)} in float32, summed in numpy's order. */
    float[] meanTag(int tagDim) {
      int m = tags.size();
      float[] mean = new float[tagDim];
      if (tagDim == 1) {
        // [m, 1] reduces as one contiguous run: numpy's pairwise sum.
        float[] column = new float[m];
        for (int i = 0; i < m; i++) {
          column[i] = tags.get(i)[0];
        }
        mean[0] = pairwiseSum(column, m) / (float) m;
        return mean;
      }
      // [m, L], L > 1: numpy adds row after row.
      for (int i = 0; i < m; i++) {
        float[] tag = tags.get(i);
        for (int d = 0; d < tagDim; d++) {
          mean[d] += tag[d];
        }
      }
      for (int d = 0; d < tagDim; d++) {
        mean[d] /= (float) m;
      }
      return mean;
    }
  }

  /**
   * Candidates of one joint (Python's {@code _candidates}): pixels that are the maximum of their
   * NMS window and the last such pixel in raster order within it, above the detection
   * threshold, strongest first (earlier pixel first on equal values), at most maxCandidates.
   */
  static int[] candidates(Grid grid, int joint, Config config) {
    int h = grid.height;
    int w = grid.width;
    int n = h * w;
    int radius = config.nmsKernel / 2;
    float[] heat = new float[n];
    for (int i = 0; i < n; i++) {
      heat[i] = grid.heat(i, joint);
    }
    float[] pooled = maxPool(heat, h, w, radius);
    int[] marker = new int[n];
    for (int i = 0; i < n; i++) {
      marker[i] = heat[i] == pooled[i] ? i : -1;
    }
    int[] lastMarker = maxPool(marker, h, w, radius);
    List<Integer> found = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      if (marker[i] >= 0 && lastMarker[i] == i && heat[i] > config.detectionThreshold) {
        found.add(i);
      }
    }
    final float[] values = heat;
    // Stable: equal values keep raster order.
    Collections.sort(found, new Comparator<Integer>() {
      @Override
      public int compare(Integer a, Integer b) {
        float va = values[a];
        float vb = values[b];
        return va > vb ? -1 : (va < vb ? 1 : 0);
      }
    });
    int top = Math.min(found.size(), config.maxCandidates);
    int[] result = new int[top];
    for (int i = 0; i < top; i++) {
      result[i] = found.get(i);
    }
    return result;
  }

  /** Greedy joint-by-joint matching (Python's {@code _match}); persons in creation order. */
  private static List<Person> match(Grid grid, Config config, int[] order) {
    int k = grid.keypoints;
    int dims = grid.tagDim;
    List<Person> persons = new ArrayList<>();
    for (int joint : order) {
      int[] pixels = candidates(grid, joint, config);
      int n = pixels.length;
      if (n == 0) {
        continue;
      }
      float[][] candidateTags = new float[n][dims];
      for (int i = 0; i < n; i++) {
        for (int d = 0; d < dims; d++) {
          candidateTags[i][d] = grid.tag(pixels[i], joint, d);
        }
      }
      int[] owner = new int[n];
      Arrays.fill(owner, -1);
      if (!persons.isEmpty()) {
        int active = Math.min(persons.size(), config.maxCandidates);
        float[][] means = new float[active][];
        for (int p = 0; p < active; p++) {
          means[p] = persons.get(p).meanTag(dims);
        }
        float[][] distance = new float[n][active];
        double[][] cost = new double[n][active];
        float[] squares = new float[dims];
        for (int i = 0; i < n; i++) {
          float value = grid.heat(pixels[i], joint);
          for (int p = 0; p < active; p++) {
            for (int d = 0; d < dims; d++) {
              float diff = candidateTags[i][d] - means[p][d];
              squares[d] = diff * diff;
            }
            // np.linalg.norm(..., axis=-1): sqrt of numpy's sum of squares, float32.
            float dist = (float) Math.sqrt(pairwiseSum(squares, dims));
            distance[i][p] = dist;
            float c = config.useDetectionValue ? (float) Math.rint(dist) * 100f - value : dist;
            cost[i][p] = dist < config.tagThreshold ? c : BARRED;
          }
        }
        int[] assigned = Assignment.solve(cost);
        for (int i = 0; i < n; i++) {
          int p = assigned[i];
          if (p >= 0 && distance[i][p] < config.tagThreshold) {
            owner[i] = p;
          }
        }
      }
      for (int i = 0; i < n; i++) {
        Person person;
        if (owner[i] < 0) {
          person = new Person(k);
          persons.add(person);
        } else {
          person = persons.get(owner[i]);
        }
        int pixel = pixels[i];
        person.pose[joint][0] = pixel % grid.width;
        person.pose[joint][1] = pixel / grid.width;
        person.pose[joint][2] = grid.heat(pixel, joint);
        person.tags.add(candidateTags[i]);
      }
    }
    return persons;
  }

  /** Fills missing joints in place (Python's {@code _refine}). */
  private static void refine(Grid grid, List<float[][]> poses, float[][] meanTags, float gate) {
    int n = grid.height * grid.width;
    int dims = grid.tagDim;
    for (int joint = 0; joint < grid.keypoints; joint++) {
      for (int p = 0; p < poses.size(); p++) {
        float[][] pose = poses.get(p);
        if (pose[joint][2] != 0) {
          continue;
        }
        float[] mean = meanTags[p];
        int best = 0;
        float bestTrade = Float.NaN;
        for (int i = 0; i < n; i++) {
          float squared = 0f;
          for (int d = 0; d < dims; d++) {
            float diff = grid.tag(i, joint, d) - mean[d];
            squared += diff * diff;
          }
          float dist = (float) Math.sqrt(squared);
          float trade = dist < gate
              ? grid.heat(i, joint) - (float) Math.rint(dist) : Float.NEGATIVE_INFINITY;
          if (i == 0 || trade > bestTrade) { // np.argmax: the first maximum
            best = i;
            bestTrade = trade;
          }
        }
        boolean allowed = !Float.isInfinite(bestTrade) && !Float.isNaN(bestTrade);
        float value = allowed ? grid.heat(best, joint) : 0f;
        if (value > 0) {
          pose[joint][0] = best % grid.width;
          pose[joint][1] = best / grid.width;
          pose[joint][2] = value;
        }
      }
    }
  }

  /** A quarter pixel toward the higher neighbour along x and y (none on ties or borders). */
  private static void quarter(Grid grid, List<float[][]> poses) {
    int w = grid.width;
    int h = grid.height;
    for (float[][] pose : poses) {
      for (int joint = 0; joint < grid.keypoints; joint++) {
        if (!(pose[joint][2] > 0)) {
          continue;
        }
        int x = (int) pose[joint][0];
        int y = (int) pose[joint][1];
        float dx = grid.heat(y * w + Math.min(x + 1, w - 1), joint)
            - grid.heat(y * w + Math.max(x - 1, 0), joint);
        float dy = grid.heat(Math.min(y + 1, h - 1) * w + x, joint)
            - grid.heat(Math.max(y - 1, 0) * w + x, joint);
        pose[joint][0] += 0.25f * Math.signum(dx);
        pose[joint][1] += 0.25f * Math.signum(dy);
      }
    }
  }

  /** Max over the (2r+1)^2 window around each pixel, clipped to the grid (cv2.dilate). */
  static float[] maxPool(float[] src, int h, int w, int r) {
    float[] rows = new float[src.length];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        float m = Float.NEGATIVE_INFINITY;
        for (int i = Math.max(x - r, 0); i <= Math.min(x + r, w - 1); i++) {
          m = Math.max(m, src[y * w + i]);
        }
        rows[y * w + x] = m;
      }
    }
    float[] out = new float[src.length];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        float m = Float.NEGATIVE_INFINITY;
        for (int j = Math.max(y - r, 0); j <= Math.min(y + r, h - 1); j++) {
          m = Math.max(m, rows[j * w + x]);
        }
        out[y * w + x] = m;
      }
    }
    return out;
  }

  /** {@link #maxPool(float[], int, int, int)} for ints. */
  static int[] maxPool(int[] src, int h, int w, int r) {
    int[] rows = new int[src.length];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int m = Integer.MIN_VALUE;
        for (int i = Math.max(x - r, 0); i <= Math.min(x + r, w - 1); i++) {
          m = Math.max(m, src[y * w + i]);
        }
        rows[y * w + x] = m;
      }
    }
    int[] out = new int[src.length];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int m = Integer.MIN_VALUE;
        for (int j = Math.max(y - r, 0); j <= Math.min(y + r, h - 1); j++) {
          m = Math.max(m, rows[j * w + x]);
        }
        out[y * w + x] = m;
      }
    }
    return out;
  }

  /**
   * The float32 sum of {@code a[0..n)} as numpy's add-reduce over a contiguous run computes it:
   * a plain loop below 8 values, eight interleaved partial sums up to 128, halves above.
   */
  static float pairwiseSum(float[] a, int n) {
    return 0f + pairwise(a, 0, n); // the reduction starts from add's identity, 0
  }

  private static float pairwise(float[] a, int start, int n) {
    if (n < 8) {
      float sum = -0.0f;
      for (int i = 0; i < n; i++) {
        sum += a[start + i];
      }
      return sum;
    }
    if (n <= 128) {
      float[] r = new float[8];
      System.arraycopy(a, start, r, 0, 8);
      int i = 8;
      for (; i < n - n % 8; i += 8) {
        for (int j = 0; j < 8; j++) {
          r[j] += a[start + i + j];
        }
      }
      float sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
      for (; i < n; i++) {
        sum += a[start + i];
      }
      return sum;
    }
    int half = n / 2;
    half -= half % 8;
    return pairwise(a, start, half) + pairwise(a, start + half, n - half);
  }
}
