"""autodo: automated data augmentation and dataset optimisation on biased data with label noise."""

__version__ = "0.1.0"
