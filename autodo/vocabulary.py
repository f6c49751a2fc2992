"""The names of options that both the checks of a command line (autodo.config, which imports no torch) and the code
that implements them read: one list each, here."""

# the ops of Fast AutoAugment's (and DADA's) tables, in the published order (autodo.augment.policies implements them)
FAST_AUTOAUGMENT_OPS = ("ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate", "AutoContrast", "Invert", "Equalize",
                        "Solarize", "Posterize", "Contrast", "Color", "Brightness", "Sharpness", "Cutout")
# dataset.fast_autoaugment: the published tables in autodo/augment/fast_autoaugment.json (aug_model=AUTO)
FAST_AUTOAUGMENT_TABLES = ("fa_reduced_cifar10", "fa_reduced_svhn", "fa_resnet50_rimagenet")
LEARNED_AUGMENTATIONS = ("SHA", "SEP")  # aug_model: the learned affine augmentation
FIXED_AUGMENTATIONS = ("RAND", "TRIVIAL", "AUTO")  # aug_model: fixed policies
GEOMETRIC_COPIES = ("translate", "rotate", "crop")  # subsample.augmentation: the seed's three
COPY_AUGMENTATIONS = GEOMETRIC_COPIES + ("RAND", "AUTO", "TRIVIAL")  # subsample.augmentation
PRIOR_CORRECTIONS = ("none", "logit_adjust", "balance")  # los_model.prior_correction
PAPER_SMOOTHING = 0.05  # los_model.smoothing: the soft labels' start in the paper's method
ROBUST_LOSSES = ("ce", "gce", "sce", "elr")  # los_model.loss: cross-entropy or a loss robust to label noise
