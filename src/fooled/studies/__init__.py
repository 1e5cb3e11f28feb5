"""One package per study: its science, the paper's numbers, its stage functions, its report.

``README_PARTS`` names, per study, the module whose ``tables(summary)`` gives the study's
README blocks, whose ``KEY_NUMBERS`` name the figures a fresh run must reproduce (with their
tolerance on another machine), ``KEY_TARGETS`` the files that run makes and
``key_summary(folder)`` the summary.json part read from them (tools/readme_tables.py,
tests/test_reproduce.py). A new study adds its line here.
"""

README_PARTS: dict[str, str] = {
    "collisions_mnist": "fooled.studies.collisions.readme",
    "szegedy": "fooled.studies.szegedy.readme",
    "fooling": "fooled.studies.fooling.readme",
    "defences": "fooled.studies.defences.readme",
}
