# Feature collisions on ImageNet with VGG-16 at FC-6 (Li, Zhang, Malik, Tables 2-4): micro
# experiments from a seed image, macro ones from the seed's sources in the patch database;
# then the interpolations. Target: `snakemake collisions_imagenet`.


rule collide_imagenet:
    input:
        unpack(ci_collide_inputs),
    output:
        collide=ci_path("collide", "{experiment}"),
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
        collide=ci_path("collide", "{experiment}"),
        shards=imagenet_shard_paths(),
    output:
        interpolate=ci_path("interpolate", "{experiment}"),
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
        **collisions_imagenet_section_inputs(),
    output:
        **section_files("collisions_imagenet"),
        figures=report(
            directory("results/report/collisions_imagenet/figures"),
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
