# Fooling images (Nguyen, Yosinski, Clune): MAP-Elites with direct and CPPN encodings, gradient
# ascent, and retraining with a "fooling" class, on MNIST networks (and VGG-16 for ImageNet
# classes). Target: `snakemake fooling`.


rule fooling_evolve:
    input:
        unpack(fooling_inputs),
    output:
        result=f"{FO}/evolve/{{experiment}}_{{run}}.h5",
    log:
        "logs/fooling/evolve/{experiment}_{run}.log",
    benchmark:
        "results/benchmarks/fooling_evolve/{experiment}_{run}.tsv"
    wildcard_constraints:
        experiment=names_pattern(FO_EVOLVE),
        run=r"\d+",
    conda:
        "../../envs/tensorflow.yaml"
    threads: 1
    params:
        settings=lambda wildcards: FO_EVOLVE[wildcards.experiment],
        imagenet=fooling_imagenet,
        checkpoint=lambda wildcards: checkpoint_path(
            "fooling", f"{wildcards.experiment}_{wildcards.run}"
        ),
    script:
        "../../../scripts/fooling/evolve.py"


rule fooling_ascend:
    input:
        unpack(fooling_inputs),
    output:
        result=f"{FO}/ascend/{{experiment}}.h5",
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
        imagenet=fooling_imagenet,
    script:
        "../../../scripts/fooling/ascend.py"


rule fooling_retrain:
    input:
        unpack(fooling_inputs),
    output:
        result=f"{FO}/retrain/{{experiment}}.h5",
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
        **fooling_section_inputs(),
    output:
        **section_files("fooling"),
        figures=report(
            directory("results/report/fooling/figures"),
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
