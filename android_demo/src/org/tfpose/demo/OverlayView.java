package org.tfpose.demo;

import android.content.Context;
import android.graphics.Canvas;
import android.graphics.Color;
import android.graphics.Paint;
import android.view.View;
import org.tfpose.demo.pose.KeypointSet;
import org.tfpose.demo.pose.PoseResult;
import org.tfpose.demo.pose.ViewMapper;

/** Draws the latest pose over the camera preview: limbs, then joints, left side in its colour. */
final class OverlayView extends View {
  private static final float MIN_SCORE = 0.2f;
  private final Paint left = paint(Color.rgb(255, 140, 0));
  private final Paint right = paint(Color.rgb(0, 170, 255));
  private final Paint centre = paint(Color.WHITE);
  private PoseResult pose;

  OverlayView(Context context) {
    super(context);
  }

  private static Paint paint(int colour) {
    Paint p = new Paint(Paint.ANTI_ALIAS_FLAG);
    p.setColor(colour);
    p.setStrokeWidth(8f);
    p.setStrokeCap(Paint.Cap.ROUND);
    return p;
  }

  void show(PoseResult result) {
    pose = result;
    postInvalidate();
  }

  @Override
  protected void onDraw(Canvas canvas) {
    PoseResult p = pose;
    if (p == null) {
      return;
    }
    // The preview fills the view (centre crop); map the same way.
    ViewMapper view = new ViewMapper(p.imageWidth, p.imageHeight, getWidth(), getHeight(), true);
    float[][] k = p.keypoints;
    for (int[] limb : KeypointSet.COCO_SKELETON) {
      if (k[limb[0]][2] >= MIN_SCORE && k[limb[1]][2] >= MIN_SCORE) {
        canvas.drawLine(view.x(k[limb[0]][0]), view.y(k[limb[0]][1]), view.x(k[limb[1]][0]),
            view.y(k[limb[1]][1]), colour(limb[1]));
      }
    }
    for (int i = 0; i < k.length; i++) {
      if (k[i][2] >= MIN_SCORE) {
        canvas.drawCircle(view.x(k[i][0]), view.y(k[i][1]), 10f, colour(i));
      }
    }
  }

  private Paint colour(int keypoint) {
    if (KeypointSet.isLeft(keypoint)) {
      return left;
    }
    return KeypointSet.COCO_NAMES[keypoint].startsWith("right_") ? right : centre;
  }
}
