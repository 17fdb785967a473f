package org.tfpose.demo.pose;

/**
 * A person of this frame with its track, the Java twin of {@code
 * tfpose.inference.tracking.TrackedPerson}: {@code person} has the smoothed keypoints when
 * smoothing is on (else it is {@code raw}); {@code raw} is the person as given. {@code age}:
 * frames since the track started, this one included; {@code hits}: frames it was seen in, this
 * one included; {@code gap}: frames it was missing just before this one.
 */
public final class TrackedPose {
  public final int trackId;
  public final Person person;
  public final Person raw;
  public final int age;
  public final int hits;
  public final int gap;

  public TrackedPose(int trackId, Person person, Person raw, int age, int hits, int gap) {
    this.trackId = trackId;
    this.person = person;
    this.raw = raw;
    this.age = age;
    this.hits = hits;
    this.gap = gap;
  }
}
