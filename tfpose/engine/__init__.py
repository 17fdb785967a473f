"""What the training scripts share: flags, strategies, checkpoints, callbacks, the
training-phase loop, the trainers and reports. (Dataset layouts live in :mod:`tfpose.data.layouts`,
the evaluators in :mod:`tfpose.evaluation`, ``.keras`` files in :mod:`tfpose.runtime`.)

Generic (top-down and bottom-up scripts alike):

* :mod:`.flags`: the shared command-line flags (presets: :mod:`tfpose.models.presets`);
* :mod:`.run`: the run folder, ``--resume``, logging, one-line errors (:func:`.run.run_main`),
  and where the main job's model lives (:func:`.run.default_model_path`);
* :mod:`.distribute`: ``--strategy`` -> a ``tf.distribute`` strategy;
* :mod:`.optimizers`: Adam or Bop + Adam, cosine schedule;
* :mod:`.models`: zoo models built (``--init``) and saved models loaded in the strategy's scope;
* :mod:`.checkpoints`, :mod:`.callbacks`, :mod:`.training`: one training phase with per-epoch
  checkpoints, best model, history, TensorBoard and the non-finite-loss stop;
* :mod:`.trainer`: the loss-owning Keras wrapper that :mod:`.distiller` (Distiller: frozen
  teacher, KL + AWing; stage-1 -> stage-2 transfer) and :mod:`.bottomup_trainer` share;
* :mod:`.report`: metrics.json, predicted-skeleton grid, training curves.

Top-down: :mod:`.topdown` (data, codec, models, fitting and distilling); bottom-up:
:mod:`.bottomup`.
"""
