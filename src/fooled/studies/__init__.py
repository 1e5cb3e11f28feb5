"""One package per study: its science, the paper's numbers, its stage functions, its report.

Every study is registered once, in :mod:`fooled.studies.registry`; each lays out its files
in its ``layout`` module (:mod:`fooled.core.layout`). A study never imports another: what
it reads from another study it names by reference (``"szegedy.attack"``), and the workflow
resolves it through the registry.
"""
