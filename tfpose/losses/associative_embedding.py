"""Associative-embedding loss (Newell, Huang & Deng, NeurIPS 2017), as HigherHRNet and LitePose
train their tag maps.

Each labelled joint ``k`` of person ``n`` reads a tag ``t[n, k]`` (a ``D``-vector, ``D = 1`` in
LitePose) from its tag map at the joint's cell. With ``V_n`` the person's labelled joints and
``m_n`` their mean tag, over the ``P`` persons of an image that have at least one labelled joint:

* pull = ``1/P sum_n 1/|V_n| sum_{k in V_n} mean_d (t[n, k] - m_n)^2`` (a person's tags agree);
* push ``"exp"`` = ``1/2 * 1/(P (P - 1)) sum_{i != j} exp(-||m_i - m_j||^2)`` (persons differ);
  push ``"max"`` = the same average of the hinge ``max(0, 1 - ||m_i - m_j||)``.

The mean over ordered pairs and the factor 1/2 are HigherHRNet's (the published 1e-3 weights are
calibrated to them). An image with no person gives 0 pull and 0 push; with one person, 0 push.
"""

from __future__ import annotations

import tensorflow as tf

PACKAGE = "tfpose"
PUSH_KINDS = ("exp", "max")


@tf.keras.utils.register_keras_serializable(package=PACKAGE)
class AssociativeEmbeddingLoss(tf.keras.losses.Loss):
    """Pull / push loss of associative-embedding tag maps.

    Call as ``loss(joints, tags)`` (Keras order: targets first):

    * ``joints``: ``[B, M, K, 2]`` int32 from :meth:`tfpose.codecs.associative_embedding.
      BottomUpCodec.encode` — per person and joint, the flat cell index ``y * W + x`` on the tag
      map and a valid flag (1 = labelled and on the map). Rows of all-invalid joints are padding.
    * ``tags``: ``[B, H, W, K * D]`` tag maps, channel ``k * D + d`` = dimension ``d`` of joint
      ``k``'s tag (LitePose: the second half of the stride-4 output, ``outputs[0][..., K:]``).

    Returns per image ``pull_weight * pull + push_weight * push``, reduced over the batch by the
    Keras ``reduction``. :meth:`pull_push` gives the two unweighted terms per image for logging.

    Args:
      pull_weight: weight of the pull term (1e-3 in HigherHRNet / LitePose).
      push_weight: weight of the push term (1e-3 in HigherHRNet / LitePose).
      push: ``"exp"`` (LitePose, HigherHRNet) or ``"max"`` (hinge with margin 1).
      tag_dim: ``D``, dimensions of each joint's tag.
    """

    def __init__(self, pull_weight: float = 1e-3, push_weight: float = 1e-3, push: str = "exp",
                 tag_dim: int = 1, name: str = "associative_embedding", **kwargs):
        super().__init__(name=name, **kwargs)
        if push not in PUSH_KINDS:
            raise ValueError(f"push must be one of {PUSH_KINDS}, got {push!r}")
        if pull_weight < 0 or push_weight < 0:
            raise ValueError(f"loss weights must be >= 0, got pull_weight={pull_weight}, "
                             f"push_weight={push_weight}")
        if tag_dim < 1:
            raise ValueError(f"tag_dim must be >= 1, got {tag_dim}")
        self.pull_weight = float(pull_weight)
        self.push_weight = float(push_weight)
        self.push = push
        self.tag_dim = int(tag_dim)

    def call(self, y_true, y_pred):
        pull, push = self.pull_push(y_true, y_pred)
        return self.pull_weight * pull + self.push_weight * push

    def pull_push(self, joints, tags):
        """Unweighted ``(pull, push)``, each ``[B]`` float32 (see the module docstring)."""
        joint_tags, valid = self._joint_tags(joints, tags)  # [B, M, K, D], [B, M, K]
        counts = tf.reduce_sum(valid, axis=-1)  # [B, M]
        person = tf.cast(counts > 0, tf.float32)
        safe_counts = tf.maximum(counts, 1.0)[..., None]
        means = tf.reduce_sum(joint_tags * valid[..., None], axis=2) / safe_counts  # [B, M, D]

        spread = tf.reduce_mean(tf.square(joint_tags - means[:, :, None]), axis=-1)  # [B, M, K]
        person_pull = tf.reduce_sum(spread * valid, axis=-1) / safe_counts[..., 0]
        num_persons = tf.reduce_sum(person, axis=-1)  # [B]
        pull = tf.reduce_sum(person_pull * person, axis=-1) / tf.maximum(num_persons, 1.0)

        distance_sq = tf.reduce_sum(
            tf.square(means[:, :, None] - means[:, None, :]), axis=-1)  # [B, M, M]
        if self.push == "exp":
            pair_push = tf.exp(-distance_sq)
        else:
            # sqrt has an infinite slope at 0; the floor keeps the gradient finite.
            pair_push = tf.nn.relu(1.0 - tf.sqrt(tf.maximum(distance_sq, 1e-12)))
        num_slots = tf.shape(person)[1]
        distinct = 1.0 - tf.eye(num_slots, dtype=tf.float32)
        pairs = person[:, :, None] * person[:, None, :] * distinct  # [B, M, M]
        num_pairs = num_persons * (num_persons - 1.0)
        push = 0.5 * tf.reduce_sum(pair_push * pairs, axis=[1, 2]) / tf.maximum(num_pairs, 1.0)
        return pull, push

    def _joint_tags(self, joints, tags):
        """Tags read at each joint's cell ``[B, M, K, D]`` and the valid mask ``[B, M, K]``."""
        joints = tf.cast(joints, tf.int32)
        tags = tf.convert_to_tensor(tags, tf.float32)
        if joints.shape.rank != 4 or joints.shape[-1] not in (None, 2):
            raise ValueError(f"joints must be [B, M, K, 2] (cell index, valid), got shape "
                             f"{joints.shape}")
        if tags.shape.rank != 4:
            raise ValueError(f"tags must be [B, H, W, K * tag_dim], got shape {tags.shape}")
        num_joints = joints.shape[2]
        if num_joints is not None and tags.shape[-1] is not None \
                and tags.shape[-1] != num_joints * self.tag_dim:
            raise ValueError(
                f"tags have {tags.shape[-1]} channels but joints have {num_joints} keypoints x "
                f"tag_dim {self.tag_dim}: pass the tag maps only (LitePose: outputs[0][..., K:])")
        batch, height, width = tf.shape(tags)[0], tf.shape(tags)[1], tf.shape(tags)[2]
        k = tf.shape(joints)[2]
        # [B, K, H*W, D]: one row of cells per joint, so (joint, cell) pairs index it.
        per_joint = tf.transpose(tf.reshape(tags, [batch, height * width, k, self.tag_dim]),
                                 [0, 2, 1, 3])
        cells = tf.clip_by_value(joints[..., 0], 0, height * width - 1)  # padding rows hold 0
        joint_index = tf.broadcast_to(tf.range(k), tf.shape(cells))
        indices = tf.stack([joint_index, cells], axis=-1)  # [B, M, K, 2]
        joint_tags = tf.gather_nd(per_joint, indices, batch_dims=1)
        valid = tf.cast(joints[..., 1] > 0, tf.float32)
        return joint_tags, valid

    def get_config(self):
        return {**super().get_config(), "pull_weight": self.pull_weight,
                "push_weight": self.push_weight, "push": self.push, "tag_dim": self.tag_dim}
