package org.tfpose.demo.pose;

/**
 * Upright image pixels to view pixels, for an image shown scaled into a view: {@code fill}
 * (centre-cropped to cover the view, as a camera preview usually is) or fit (letterboxed).
 * Pixel edges map onto pixel edges, so the image's corners land on the view's.
 */
public final class ViewMapper {
  public final double scale;
  public final double offsetX;
  public final double offsetY;

  public ViewMapper(int imageWidth, int imageHeight, int viewWidth, int viewHeight,
      boolean fill) {
    if (imageWidth <= 0 || imageHeight <= 0 || viewWidth <= 0 || viewHeight <= 0) {
      throw new IllegalArgumentException("sizes must be positive");
    }
    double sx = viewWidth / (double) imageWidth;
    double sy = viewHeight / (double) imageHeight;
    scale = fill ? Math.max(sx, sy) : Math.min(sx, sy);
    offsetX = (viewWidth - imageWidth * scale) / 2.0;
    offsetY = (viewHeight - imageHeight * scale) / 2.0;
  }

  public float x(double x) {
    return (float) ((x + 0.5) * scale + offsetX - 0.5);
  }

  public float y(double y) {
    return (float) ((y + 0.5) * scale + offsetY - 0.5);
  }
}
