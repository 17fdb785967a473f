package org.tfpose.demo.pose;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the golden files {@code tfpose/export/golden.py} writes: sections of a header line
 * {@code name d1 d2 ...} followed by that many whitespace-separated values.
 */
final class GoldenFile {
  private final Map<String, int[]> shapes = new HashMap<>();
  private final Map<String, List<String>> values = new HashMap<>();
  final Path path;

  static GoldenFile read(String name) throws IOException {
    Path folder = Paths.get(System.getProperty("golden.dir", "golden"));
    return new GoldenFile(folder.resolve(name));
  }

  private GoldenFile(Path path) throws IOException {
    this.path = path;
    List<String[]> lines = new ArrayList<>();
    for (String line : Files.readAllLines(path, StandardCharsets.UTF_8)) {
      if (!line.startsWith("#") && !line.trim().isEmpty()) {
        lines.add(line.trim().split("\\s+"));
      }
    }
    int i = 0;
    while (i < lines.size()) {
      String[] header = lines.get(i++);
      int[] shape = new int[header.length - 1];
      int count = 1;
      for (int d = 0; d < shape.length; d++) {
        shape[d] = Integer.parseInt(header[d + 1]);
        count *= shape[d];
      }
      List<String> data = new ArrayList<>();
      while (data.size() < count && i < lines.size()) {
        data.addAll(Arrays.asList(lines.get(i++)));
      }
      if (data.size() != count) {
        throw new IOException(path + ": section " + header[0] + " has " + data.size()
            + " values, its header says " + count);
      }
      shapes.put(header[0], shape);
      values.put(header[0], data);
    }
  }

  int[] shape(String name) {
    return require(name, shapes.get(name));
  }

  float[] floats(String name) {
    List<String> v = require(name, values.get(name));
    float[] out = new float[v.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = Float.parseFloat(v.get(i));
    }
    return out;
  }

  int[] ints(String name) {
    List<String> v = require(name, values.get(name));
    int[] out = new int[v.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = Integer.parseInt(v.get(i));
    }
    return out;
  }

  String[] words(String name) {
    return require(name, values.get(name)).toArray(new String[0]);
  }

  private <T> T require(String name, T value) {
    if (value == null) {
      throw new IllegalArgumentException(path + ": no section '" + name + "'");
    }
    return value;
  }
}
