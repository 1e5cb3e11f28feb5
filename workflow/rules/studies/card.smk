# The robustness card: a model of the user's (studies.card.model.path, checked when the
# workflow starts) measured beside the project's MLP and LeNet, one job per model, with each
# attack's settings from its own study. Target: `snakemake card`. The wiring is the card's
# job declaration (fooled.studies.card.layout.jobs), which the tests use too.

from fooled.studies.card import layout as card_layout

CARD = STUDIES["card"]
CARD_JOBS = card_layout.jobs(CARD, STUDIES, study_inputs("card"))
CARD_MODELS = card_layout.models(CARD)
# The inputs of the measuring job of the model its wildcard names.
CARD_INPUT = lambda wildcards: CARD_JOBS[f"measure/{wildcards.model}"]["input"]


# Each of the measuring job's params, of the model its wildcard names.
CARD_PARAMS = {
    key: lambda wildcards, key=key: CARD_JOBS[f"measure/{wildcards.model}"]["params"][
        key
    ]
    for key in card_layout.MEASURE_PARAMS
}


rule card_measure:
    input:
        unpack(CARD_INPUT),
    output:
        measures=card_layout.LAYOUT.path("measures", model="{model}"),
    log:
        "logs/card/measure_{model}.log",
    benchmark:
        benchmark("card_measure", "model")
    wildcard_constraints:
        model=names_pattern(CARD_MODELS),
    conda:
        "../../envs/tensorflow.yaml"
    threads: 1
    params:
        **CARD_PARAMS,
    script:
        "../../../scripts/card/measure.py"


rule card_report:
    input:
        **CARD_JOBS["report"]["input"],
    output:
        **CARD_JOBS["report"]["output"],
    log:
        "logs/card/report.log",
    benchmark:
        benchmark("card_report")
    conda:
        "../../envs/report.yaml"
    threads: 1
    script:
        "../../../scripts/card/report.py"


rule card:
    default_target: False
    input:
        **section_files("card"),
        damaged=damaged_targets,
