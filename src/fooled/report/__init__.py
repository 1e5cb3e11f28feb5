"""The report, assembled from the studies' sections.

Each study's report rule writes its section (an HTML fragment with its figures
embedded, and its part of ``summary.json``) through :mod:`fooled.report.sections`;
rule ``report`` joins the enabled studies' sections into one self-contained
``report.html`` and one ``summary.json`` (:mod:`fooled.report.assemble`). The
HTML helpers every section uses are in :mod:`fooled.report.html`.
"""
