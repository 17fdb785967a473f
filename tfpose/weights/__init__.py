"""Published weights into tfpose models: checkpoint reading (PyTorch, safetensors, Keras h5),
layout recognition, the key maps to our layers, and the import that checks every tensor."""

from tfpose.weights.importer import (
    Checkpoint,
    Imported,
    check_fits,
    import_model,
    import_weights,
    initialise,
    read_checkpoint,
    read_starting_point,
    start_from,
)
from tfpose.weights.transfer import WeightsMismatch

__all__ = ["Checkpoint", "Imported", "WeightsMismatch", "check_fits", "import_model",
           "import_weights", "initialise", "read_checkpoint", "read_starting_point",
           "start_from"]
