"""What the training scripts share: flags, data sources, strategies, checkpoints, callbacks,
the training-phase loop, evaluation and reports.

Generic (top-down and bottom-up scripts alike):

* :mod:`.flags`: the shared command-line flags and model-size presets;
* :mod:`.run`: the run folder, ``--resume``, logging, one-line errors (:func:`.run.run_main`),
  and where the main job's model lives (:func:`.run.default_model_path`);
* :mod:`.datasets`: ``--data`` / ``--data-root`` -> annotation files and image folders;
* :mod:`.distribute`: ``--strategy`` -> a ``tf.distribute`` strategy;
* :mod:`.optimizers`: Adam or Bop + Adam, cosine schedule;
* :mod:`.checkpoints`, :mod:`.callbacks`, :mod:`.training`: one training phase with per-epoch
  checkpoints, best model, history, TensorBoard and the non-finite-loss stop;
* :mod:`.report`: metrics.json, predicted-skeleton grid, training curves.

Top-down: :mod:`.topdown` (data, codec, models, fitting and distilling) and
:mod:`.evaluation` (prediction on validation crops, PCK / AP / PCKh). Bottom-up:
:mod:`.bottomup`.
"""
