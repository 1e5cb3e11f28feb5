"""Szegedy et al. (2014), "Intriguing properties of neural networks": the study's science.

- :mod:`.settings`: the study's config (no TensorFlow): model instances, tables, checks.
- :mod:`.paper`: the paper's numbers (Tables 1-5), each marked with its source.
- :mod:`.transfer`: Table 2 (cross-model) and Tables 3-4 (cross-training-set) error matrices.
- :mod:`.units`: units versus random directions, as label purity with a permutation test.
- :mod:`.bounds`: upper Lipschitz bounds per layer (operator norms; FFT for convolutions).
- :mod:`.adversarial_training`: FC100-100-10 trained with a refreshed pool of L-BFGS examples.
- :mod:`.stages`: one function per workflow rule; :mod:`.report`: the report section.

The attack is shared (:mod:`fooled.attacks.lbfgs`), so are the models
(:mod:`fooled.models.mnist_zoo`).
"""
