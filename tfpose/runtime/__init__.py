"""Running pose model files: loading and saving ``.keras`` files, LCE's host interpreter for
``.tflite`` files, and reading flatbuffers. Prediction, evaluation, the export's parity check and
the benchmark all run models through this package, so a file runs the same way everywhere.

* :mod:`.loading`: :func:`~.loading.load_model_file` (``.keras`` or ``.tflite``, with its
  information) and :func:`~.loading.as_runner` (a Keras model in memory);
* :mod:`.keras_files`: :func:`~.keras_files.save_model_atomically`,
  :func:`~.keras_files.load_keras_model`;
* :mod:`.interpreter`: :func:`~.interpreter.host_interpreter`,
  :class:`~.interpreter.LCEInterpreterRunner` and the kernels label of every host figure;
* :mod:`.flatbuffer`: inputs, outputs and ops of a ``.tflite`` file.
"""
