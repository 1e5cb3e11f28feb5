"""Attacks: every optimiser that makes inputs, as a small object with one ``run`` method.

As in Foolbox, an attack is configured once (its settings, from the config)
and applied with ``run(model, ...)`` to a :class:`fooled.models.handle.ModelHandle`,
so it never knows which framework or file the model came from, and it never
reads or writes files: the workflow's stage functions do the I/O around it.

- :class:`corners.GradientCorners`: micro-level feature-collision corners (gradient descent).
- :class:`lp_corners.LPCorners`: exact corners of the first layer's polytope (linear programming).
- :class:`composites.MacroComposites`: macro-level corners, composites of real source images.
"""
