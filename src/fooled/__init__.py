"""How neural networks can be fooled: the science behind the workflow, one layer at a time.

- ``fooled.core``: configuration (schema defaults), HDF5 artifacts with provenance and
  checksums, stage jobs and logs, progress.
- ``fooled.data``: MNIST, ImageNet ingest, patches, the patch index and its search.
- ``fooled.models``: one :class:`~fooled.models.handle.ModelHandle` for every Keras model;
  the MLP, VGG-16 and the other networks the studies train.
- ``fooled.attacks``: every optimiser that makes inputs, as an object with one ``run``.
- ``fooled.studies``: one package per study (its science, paper numbers, stages, report).
- ``fooled.report``: the report assembled from the studies' sections.

Shared layers never import a study. The library never touches Snakemake; the three-line
scripts in ``scripts/`` hand each job to a stage function.
"""

import os

# TensorFlow's C++ start-up chatter (CUDA probing on CPU nodes, instruction sets)
# buries the stage logs; warnings and errors still come through.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# Same numbers on every x86-64 machine with AVX2 (README, "Reproducibility"): oneDNN (behind
# TensorFlow's matrix products, training included) and XLA's CPU compiler otherwise pick their
# kernels by the processor's instruction set, and AVX-512 kernels sum in another order than
# AVX2 ones: the MLP trains to another test accuracy from the same seed (README,
# "Reproducibility": benchmarks/bench_numerics.py). Set either variable yourself to choose
# otherwise.
os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX2")
if "--xla_cpu_max_isa" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} --xla_cpu_max_isa=AVX2".strip()

__version__ = "0.2.0"
