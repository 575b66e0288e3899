"""Training the detector: recipes, the training set (sources, pseudo-labels, synthetic images), fine-tuning,
the graft that keeps the base classes, evaluation, the model card, ``streetscan train`` and
``streetscan export-model`` (the int8 runtime export, calibrated on training images).

Nothing outside this package imports it but the command line, through ``add_train_parser`` and
``add_export_model_parser``.
"""

from vision.training.cli import add_export_model_parser, add_train_parser

__all__ = ["add_export_model_parser", "add_train_parser"]
