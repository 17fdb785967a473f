"""Pose models, one file per architecture; build any of them by name with :func:`create`.

The zoo (and with it TensorFlow and every model) is imported on first use of :func:`create` or
:func:`list_models`, so that the presets (:mod:`tfpose.models.presets`, plain data) can be read
without it.
"""

__all__ = ["create", "list_models"]


def __getattr__(name: str):
    if name in __all__:
        from tfpose.models import zoo

        return getattr(zoo, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
