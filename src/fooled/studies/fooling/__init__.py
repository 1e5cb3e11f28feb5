"""The fooling-images study: Nguyen, Yosinski and Clune, "Deep neural networks are easily fooled".

Images unrecognisable to people that a network labels with >= 99.99%
confidence, found by evolution (MAP-Elites, direct and CPPN encodings:
:mod:`fooled.attacks.evolution`, :mod:`fooled.attacks.encodings`) or by
gradient ascent (:mod:`fooled.attacks.ascent`), on the MNIST LeNet, the
project's MLP or any MNIST model file, and on VGG-16 for ImageNet classes;
plus the paper's follow-up, retraining with the fooling images as an extra
class (:mod:`retrain`). ``paper`` holds the paper's statements, ``stages`` the
workflow's stage functions, ``report`` the report section.
"""
