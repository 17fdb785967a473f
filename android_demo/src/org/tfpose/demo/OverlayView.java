package org.tfpose.demo;

import android.content.Context;
import android.graphics.Canvas;
import android.graphics.Color;
import android.graphics.Paint;
import android.view.View;
import org.tfpose.demo.pose.KeypointSet;
import org.tfpose.demo.pose.PoseResult;
import org.tfpose.demo.pose.ViewMapper;

/**
 * Draws the latest people over the camera preview: each person's limbs in its track's colour,
 * its joints (left side orange, right side blue, the rest white) and its track id.
 */
final class OverlayView extends View {
  private static final float MIN_SCORE = 0.2f;
  /** Track colours, chosen by id: a person keeps its colour while it keeps its id. */
  private static final int[] TRACK_COLOURS = {
    Color.rgb(255, 214, 0), Color.rgb(0, 230, 118), Color.rgb(255, 64, 129),
    Color.rgb(124, 77, 255), Color.rgb(0, 229, 255), Color.rgb(255, 110, 64),
    Color.rgb(174, 234, 0), Color.rgb(234, 128, 252),
  };
  private final Paint left = paint(Color.rgb(255, 140, 0));
  private final Paint right = paint(Color.rgb(0, 170, 255));
  private final Paint centre = paint(Color.WHITE);
  private final Paint[] limbs = new Paint[TRACK_COLOURS.length];
  private final Paint[] labels = new Paint[TRACK_COLOURS.length];
  private PoseResult pose;

  OverlayView(Context context) {
    super(context);
    for (int i = 0; i < TRACK_COLOURS.length; i++) {
      limbs[i] = paint(TRACK_COLOURS[i]);
      labels[i] = paint(TRACK_COLOURS[i]);
      labels[i].setTextSize(42f);
      labels[i].setFakeBoldText(true);
      labels[i].setShadowLayer(4f, 0f, 0f, Color.BLACK);
    }
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
    for (int person = 0; person < p.persons.length; person++) {
      float[][] k = p.persons[person];
      int colour = (Math.max(p.trackIds[person], 1) - 1) % TRACK_COLOURS.length;
      for (int[] limb : KeypointSet.COCO_SKELETON) {
        if (k[limb[0]][2] >= MIN_SCORE && k[limb[1]][2] >= MIN_SCORE) {
          canvas.drawLine(view.x(k[limb[0]][0]), view.y(k[limb[0]][1]), view.x(k[limb[1]][0]),
              view.y(k[limb[1]][1]), limbs[colour]);
        }
      }
      int top = -1;
      for (int i = 0; i < k.length; i++) {
        if (k[i][2] >= MIN_SCORE) {
          canvas.drawCircle(view.x(k[i][0]), view.y(k[i][1]), 10f, joint(i));
          if (top < 0 || k[i][1] < k[top][1]) {
            top = i;
          }
        }
      }
      if (top >= 0) {
        canvas.drawText("#" + p.trackIds[person], view.x(k[top][0]) - 20f,
            view.y(k[top][1]) - 30f, labels[colour]);
      }
    }
  }

  private Paint joint(int keypoint) {
    if (KeypointSet.isLeft(keypoint)) {
      return left;
    }
    return KeypointSet.COCO_NAMES[keypoint].startsWith("right_") ? right : centre;
  }
}
