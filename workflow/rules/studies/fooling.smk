# Fooling images (Nguyen, Yosinski, Clune): MAP-Elites with direct and CPPN encodings, gradient
# ascent, and retraining with a "fooling" class, on MNIST networks (and VGG-16 for ImageNet
# classes). Target: `snakemake fooling`.

from fooled.studies.fooling import layout as fooling_layout

FO = fooling_layout.LAYOUT
FOOLING = STUDIES["fooling"]
FO_EVOLVE = experiments("fooling", "evolve")
FO_ASCEND = experiments("fooling", "ascend")
FO_RETRAIN = experiments("fooling", "retrain")
FO_ALL = EXPERIMENTS["fooling"]


rule fooling_evolve:
    input:
        unpack(lambda wildcards: network_inputs(FO_ALL[wildcards.experiment]["model"])),
    output:
        result=FO.template("evolve"),
    log:
        "logs/fooling/evolve/{experiment}_{run}.log",
    benchmark:
        WORKFLOW.path("benchmark", rule="fooling_evolve", job="{experiment}_{run}")
    wildcard_constraints:
        experiment=names_pattern(FO_EVOLVE),
        run=r"\d+",
    conda:
        "../../envs/tensorflow.yaml"
    threads: 1
    params:
        settings=lambda wildcards: FO_EVOLVE[wildcards.experiment],
        imagenet=lambda wildcards: network_settings(
            FO_ALL[wildcards.experiment]["model"]
        ),
        checkpoint=lambda wildcards: checkpoint_path(
            "fooling", f"{wildcards.experiment}_{wildcards.run}"
        ),
    script:
        "../../../scripts/fooling/evolve.py"


rule fooling_ascend:
    input:
        unpack(lambda wildcards: network_inputs(FO_ALL[wildcards.experiment]["model"])),
    output:
        result=FO.template("ascend"),
    log:
        "logs/fooling/ascend/{experiment}.log",
    benchmark:
        benchmark("fooling_ascend", "experiment")
    wildcard_constraints:
        experiment=names_pattern(FO_ASCEND),
    conda:
        "../../envs/tensorflow.yaml"
    threads: 1
    params:
        settings=lambda wildcards: FO_ASCEND[wildcards.experiment],
        imagenet=lambda wildcards: network_settings(
            FO_ALL[wildcards.experiment]["model"]
        ),
    script:
        "../../../scripts/fooling/ascend.py"


rule fooling_retrain:
    input:
        unpack(lambda wildcards: network_inputs(FO_ALL[wildcards.experiment]["model"])),
    output:
        result=FO.template("retrain"),
    log:
        "logs/fooling/retrain/{experiment}.log",
    benchmark:
        benchmark("fooling_retrain", "experiment")
    wildcard_constraints:
        experiment=names_pattern(FO_RETRAIN),
    conda:
        "../../envs/tensorflow.yaml"
    threads: 1
    params:
        settings=lambda wildcards: FO_RETRAIN[wildcards.experiment],
        evolve=FOOLING["defaults"]["evolve"],
    script:
        "../../../scripts/fooling/retrain.py"


rule fooling_report:
    input:
        **fooling_layout.section_inputs(
            FOOLING,
            FO_ALL,
            {network: files[1] for network, files in MNIST_MODELS.items()},
            {
                network: [
                    MODELS.path("replicate_metrics", network=network, seed=seed)
                    for seed in config["models"][network]["replicate_seeds"]
                ]
                for network in MNIST_MODELS
            },
        ),
    output:
        **section_files("fooling"),
        figures=report(
            directory(figures_folder("fooling")),
            patterns=["{name}.png"],
            caption="../../report/fooling/figures.rst",
            category="Fooling images",
        ),
    log:
        "logs/fooling/report.log",
    benchmark:
        benchmark("fooling_report")
    conda:
        "../../envs/report.yaml"
    threads: 1
    params:
        report=FOOLING["report"],
    script:
        "../../../scripts/fooling/report.py"


rule fooling:
    default_target: False
    input:
        **section_files("fooling"),
        damaged=damaged_targets,
