"""Pose models, one file per architecture; build any of them by name with :func:`create`."""

from tfpose.models.zoo import create, list_models

__all__ = ["create", "list_models"]
