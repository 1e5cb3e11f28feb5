"""The report, assembled from the studies' sections.

Each study's report module summarises its artifacts and renders the summary
(:mod:`fooled.report.study`: the names every study's report uses, and the report
rule's stage); its section (an HTML fragment with its figures embedded, and its part
of ``summary.json``) is written through :mod:`fooled.report.sections`;
rule ``report`` joins the enabled studies' sections into one self-contained
``report.html`` and one ``summary.json`` (:mod:`fooled.report.assemble`). The
HTML helpers every section uses are in :mod:`fooled.report.html`.
"""
