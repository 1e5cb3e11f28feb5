# Feature collisions on ImageNet with VGG-16 at FC-6 (Li, Zhang, Malik, Tables 2-4): micro
# experiments from a seed image, macro ones from the seed's sources in the patch database;
# then the interpolations. Target: `snakemake collisions_imagenet`.

from fooled.studies.collisions import layout as collisions_layout

CI = collisions_layout.IMAGENET_LAYOUT
CI_ALL = EXPERIMENTS["collisions_imagenet"]


rule collide_imagenet:
    input:
        unpack(
            lambda wildcards: imagenet_experiment_inputs(CI_ALL[wildcards.experiment])
        ),
    output:
        collide=CI.template("collide"),
    log:
        "logs/collisions_imagenet/collide/{experiment}.log",
    benchmark:
        benchmark("collide_imagenet", "experiment")
    wildcard_constraints:
        experiment=names_pattern(CI_ALL),
    conda:
        "../../envs/tensorflow.yaml"
    threads: MAX_THREADS
    resources:
        gpu=1,
    params:
        experiment=lambda wildcards: CI_ALL[wildcards.experiment],
        model=IMAGENET_MODEL,
        checkpoint=lambda wildcards: checkpoint_path(
            "collisions_imagenet", wildcards.experiment
        ),
    script:
        "../../../scripts/collisions_imagenet/collide.py"


rule interpolate_imagenet:
    input:
        **imagenet_model_inputs(),
        collide=CI.template("collide"),
        shards=imagenet_shard_paths(),
    output:
        interpolate=CI.template("interpolate"),
    log:
        "logs/collisions_imagenet/interpolate/{experiment}.log",
    benchmark:
        benchmark("interpolate_imagenet", "experiment")
    wildcard_constraints:
        experiment=names_pattern(CI_ALL),
    conda:
        "../../envs/tensorflow.yaml"
    threads: MAX_THREADS
    params:
        settings=STUDIES["collisions_imagenet"]["interpolate"],
        model=IMAGENET_MODEL,
    script:
        "../../../scripts/collisions_imagenet/interpolate.py"


rule collisions_imagenet_report:
    input:
        **collisions_layout.imagenet_section_inputs(
            STUDIES["collisions_imagenet"],
            EXPERIMENTS["collisions_imagenet"],
            IMAGENET_INDEX_SUMMARY,
        ),
    output:
        **section_files("collisions_imagenet"),
        figures=report(
            directory(figures_folder("collisions_imagenet")),
            patterns=["{name}.png"],
            caption="../../report/collisions_imagenet/figures.rst",
            category="Feature collisions (ImageNet)",
        ),
    log:
        "logs/collisions_imagenet/report.log",
    benchmark:
        benchmark("collisions_imagenet_report")
    conda:
        "../../envs/report.yaml"
    threads: 1
    params:
        experiment_names=list(CI_ALL),
    script:
        "../../../scripts/collisions_imagenet/report.py"


rule collisions_imagenet:
    default_target: False
    input:
        **section_files("collisions_imagenet"),
        damaged=damaged_targets,
