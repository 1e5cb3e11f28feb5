"""Approximate feature collisions in neural nets: the science behind the workflow.

One module per concept: ``data`` (MNIST download and IDX files), ``models``
(the networks and their pre-activation layer handles), ``losses`` (``L_pos``,
``L_neg^i``), ``collisions`` (gradient corner finding), ``interpolation``
(the 2,000-sample convex-combination check), ``report`` (HTML and
``summary.json``), ``h5io`` (atomic HDF5 with provenance) and ``config``
(schema validation with one-line errors). The library never touches
Snakemake; the thin scripts in ``scripts/`` do the file I/O around it.
"""

import os

# TensorFlow's C++ start-up chatter (CUDA probing on CPU nodes, instruction sets)
# buries the stage logs; warnings and errors still come through.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.2.0"
