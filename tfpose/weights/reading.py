"""A checkpoint file as a flat ``{key: numpy array}`` state dict, whatever wrote it.

* PyTorch (``.pth``, ``.pth.tar``, ``.pt``, ``.tar``, ``.bin``, ``.ckpt``): read with
  ``torch.load(weights_only=True)``, which unpickles tensors and plain containers only, so a
  checkpoint cannot run code. Training checkpoints often pickle other objects beside the
  weights (numpy arrays in mmpose's ``meta``, a config class, mmengine's message hub): each is
  read as an inert stand-in that never runs their code and never needs their package.
  Needs PyTorch >= 2.5 (``pip install "tfpose[import]"``).
* safetensors (``.safetensors``, e.g. timm's weights on the Hugging Face hub): needs only the
  ``safetensors`` package.
* Keras HDF5 weights (``.h5``, e.g. the ``tf.keras.applications`` ImageNet files): keys are
  ``layer/variable`` (``conv1_conv/kernel``).

Wrappers are taken off: a training checkpoint's ``state_dict`` (mmpose, the HRNet authors'
``checkpoint.pth``), ``model`` or ``model_state_dict`` entry, and the ``module.`` prefix that
``DataParallel`` adds to every key.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from tfpose.errors import DataError, TfposeError, first_line

TORCH_SUFFIXES = (".pth", ".pt", ".tar", ".bin", ".ckpt")
# Entries of a training checkpoint that hold the network's state dict, most specific first.
WRAPPERS = ("state_dict", "model_state_dict", "model", "state_dict_ema", "best_state_dict")


class MissingExtra(TfposeError):
    """An optional dependency a command needs is not installed."""


def read_state_dict(path) -> dict[str, np.ndarray]:
    """The tensors of the checkpoint at ``path``, keyed as the writer named them.

    Raises :class:`~tfpose.errors.DataError` naming the file for a missing, unreadable or
    unknown file, and :class:`MissingExtra` when reading it needs PyTorch and it is absent.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "checkpoint file not found")
    if path.suffix == ".safetensors":
        state = _read_safetensors(path)
    elif path.suffix == ".h5":
        state = _read_keras_h5(path)
    elif path.suffix in TORCH_SUFFIXES:
        state = _unwrap(_read_torch(path), path)
    else:
        raise DataError(path, "unknown checkpoint format: expected .pth / .pth.tar / .pt "
                        "(PyTorch), .safetensors or .h5 (Keras weights)")
    if not state:
        raise DataError(path, "the checkpoint holds no tensors")
    return _strip_common_prefix(state, "module.")


def _read_safetensors(path: Path) -> dict[str, np.ndarray]:
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as e:
        raise DataError(path, f"not a readable safetensors file: {first_line(e)}") from None


def _read_keras_h5(path: Path) -> dict[str, np.ndarray]:
    import h5py

    try:
        with h5py.File(path, "r") as f:
            root = f.get("model_weights", f)  # a whole saved model, or weights alone
            if "layer_names" not in root.attrs:
                raise DataError(path, "an .h5 file without Keras layer weights (layer_names)")
            state = {}
            for layer in root.attrs["layer_names"]:
                group = root[_text(layer)]
                for name in group.attrs.get("weight_names", []):
                    key = _text(name).removesuffix(":0")
                    state[key] = np.asarray(group[_text(name)])
            return state
    except OSError as e:
        raise DataError(path, f"not a readable HDF5 file: {first_line(e)}") from None


def _read_torch(path: Path):
    try:
        import torch
    except ImportError:
        raise MissingExtra(f"{path}: reading a PyTorch checkpoint needs PyTorch: "
                           "pip install \"tfpose[import]\" (or save the weights as "
                           ".safetensors, which needs no PyTorch)") from None
    try:
        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError:
            # Objects beside the tensors: read each as an inert stand-in (module docstring).
            others = torch.serialization.get_unsafe_globals_in_checkpoint(path)
            with torch.serialization.safe_globals([_stand_in(name) for name in others]):
                return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for a damaged file
        raise DataError(path, f"not a readable PyTorch checkpoint: {first_line(e)}") from None


class _StandIn:
    """What a pickled object of another package becomes: its arguments and state dropped."""

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        pass


def _stand_in(qualified_name: str) -> type:
    """A :class:`_StandIn` subclass under ``qualified_name``, which the weights-only unpickler
    then allows in place of the real class or function."""
    module, _, name = qualified_name.rpartition(".")
    return type(name, (_StandIn,), {"__module__": module, "__qualname__": name})


def _unwrap(checkpoint, path: Path) -> dict[str, np.ndarray]:
    """The state dict inside a loaded torch object, as numpy arrays."""
    if not isinstance(checkpoint, dict):
        raise DataError(path, f"holds a {type(checkpoint).__name__}, not a state dict")
    if not _is_state_dict(checkpoint):
        for key in WRAPPERS:
            if isinstance(checkpoint.get(key), dict) and _is_state_dict(checkpoint[key]):
                checkpoint = checkpoint[key]
                break
        else:
            raise DataError(path, f"no state dict found: top-level entries "
                            f"{sorted(map(str, checkpoint))[:8]}")
    return {key: value.detach().cpu().numpy() for key, value in checkpoint.items()
            if hasattr(value, "detach")}


def _is_state_dict(value: dict) -> bool:
    return bool(value) and all(hasattr(v, "detach") for v in value.values())


def _strip_common_prefix(state: dict, prefix: str) -> dict:
    if all(key.startswith(prefix) for key in state):
        return {key[len(prefix):]: value for key, value in state.items()}
    return state


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


