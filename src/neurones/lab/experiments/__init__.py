"""The experiments, one module per theory topic. Importing this package imports every module in it, and each
module's ``@experiment`` decorator registers its experiment: a new experiment is a new file here, listed nowhere
else."""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
