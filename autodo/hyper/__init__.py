"""Hyperparameter optimisation: hypergradients of the validation loss with respect to lambda."""
