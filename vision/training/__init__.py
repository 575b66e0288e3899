"""Training the detector: recipes, the training set (sources, pseudo-labels, synthetic images), fine-tuning,
the graft that keeps the base classes, evaluation, the model card and ``streetscan train``.

Nothing outside this package imports it but the command line, through ``add_train_parser``.
"""

from vision.training.cli import add_train_parser

__all__ = ["add_train_parser"]
