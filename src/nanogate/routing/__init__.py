"""Routing: the model catalogue and how a request finds its deployment."""

from nanogate.routing._catalog import Catalog, Model, ModelType

__all__ = ["Catalog", "Model", "ModelType"]
