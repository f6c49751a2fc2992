"""Augmentation subsampling (Kuchnik and Smith, ICLR 2019): augment only the train points a score picks."""
