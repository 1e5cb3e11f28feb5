"""The defences study: fast gradient sign, adversarial training and an autoencoder detector.

Seeds 002 and 003 (STUDIES.md section 3): FGSM on the project's MLP,
adversarial training of it, and one autoencoder's reconstruction error scored
on every kind of input the other studies make (L-BFGS and FGSM adversarial
examples, fooling images, micro- and macro-level feature collisions and their
interpolations), with and without an adaptive term that makes the attack
minimise the reconstruction error too.

- :mod:`paper`: the reference numbers.
- :mod:`detector`: ROC-AUC, thresholds at a false-positive rate, detection rates.
- :mod:`kinds`: the registry of input kinds (where each lies, how to read its images).
- :mod:`adaptive`: the attacks with the reconstruction-error term.
- :mod:`stages`: one function per workflow rule.
- :mod:`report`: the study's report section.
"""
