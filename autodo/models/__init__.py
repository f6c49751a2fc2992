"""Classifiers: an encoder (feature extractor) and a linear head."""

from autodo.models.classifier import Classifier, build_classifier

__all__ = ["Classifier", "build_classifier"]
