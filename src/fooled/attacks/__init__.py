"""Attacks: every optimiser that makes inputs, as a small object with one ``run`` method.

The contract (:mod:`fooled.attacks.base`; ``tests/test_attacks.py`` checks it):

- **Configured once.** The constructor takes the settings (a frozen dataclass
  built from the config, ``from_config``), then what else is fixed for the
  attack (pixel range, encoding, number of corners) and an optional
  ``penalty``: a per-image TensorFlow callable whose weighted value the
  attack adds to what it minimises (the defences study's adaptive term).
- **One run.** ``run(model, inputs, targets)`` applies it to a
  :class:`fooled.models.handle.ModelHandle` (so it never knows which framework
  or file the model came from) and returns the attack's own result dataclass,
  which records at least ``seconds``.
- **Resumable runs** (MAP-Elites, the macro composites) also take,
  keyword-only, ``resume`` (a state of type ``Attack.State``),
  ``on_checkpoint`` (called with the state every ``settings.checkpoint_every``
  steps) and ``progress``; a resumed run gives the same bits as an
  uninterrupted one.
- **No file I/O.** The workflow's stage functions read and write around an
  attack, checkpoints included (:class:`fooled.core.checkpoints.CheckpointFile`).

Every attack (constructor; ``inputs``; ``targets``; result):

- :class:`corners.GradientCorners`, micro-level collision corners by gradient
  descent (``CornerSettings``, low, high, penalty, penalty_weight; seed image;
  target image; :class:`corners.MicroCollision`).
- :class:`lp_corners.LPCorners`, exact corners of the first layer's polytope by
  linear programming (``LPSettings``, n_corners; seed image, used in
  ``near_seed`` mode; target image; :class:`lp_corners.LPCollision`).
- :class:`composites.MacroComposites`, macro-level corners, composites of real
  source images; resumable (``MacroSettings``, penalty, penalty_weight;
  :class:`composites.Sources`; target image; :class:`composites.MacroCollision`).
- :class:`lbfgs.LBFGSAttack`, Szegedy et al.'s box-constrained L-BFGS
  (``LBFGSSettings``, penalty; images; target labels; :class:`lbfgs.LBFGSResult`).
- :class:`evolution.MapElites`, Nguyen et al.'s evolution; resumable
  (``EvolutionSettings``, encoding, low, high, penalty; the seed of its
  generator; classes, None for all; :class:`evolution.EvolutionResult`).
- :class:`ascent.GradientAscent`, fooling images by gradient ascent
  (``AscentSettings``, low, high, centre, penalty; start images; target
  classes; :class:`ascent.AscentResult`).
- :class:`fgsm.FGSM`, the fast gradient sign method and its iterative form
  (``FGSMSettings``, low, high, penalty; images; their true labels;
  :class:`fgsm.FGSMResult`).
- :class:`pgd.PGD`, L-infinity projected gradient descent with random starts and
  restarts (Madry et al.; ``PGDSettings``, with the preset ``madry_mnist``, low, high,
  penalty; images; their true labels; :class:`pgd.PGDResult`).

The settings hold the penalty's weight (``penalty_weight``) where the
config has one; the collision settings have none, so the corner attacks take
it beside the penalty.
"""
