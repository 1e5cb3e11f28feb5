# Feature collisions on MNIST (Li, Zhang, Malik, Table 1): each experiment's corners, their
# 2,000 interpolations and (micro) the exact polytope. Micro experiments are computed a few to
# a job (micro_per_job) and copied into place; macro experiments first find their source
# digits. Target: `snakemake collisions_mnist`.

from fooled.studies.collisions import layout as collisions_layout

CM = collisions_layout.MNIST_LAYOUT
CM_MICRO = experiments("collisions_mnist", "micro")
# Micro experiments computed together (studies.collisions_mnist.micro_per_job), and back.
CM_BATCHES = collisions_layout.micro_batches(
    STUDIES["collisions_mnist"], EXPERIMENTS["collisions_mnist"]
)
CM_BATCH_OF = collisions_layout.batch_of(
    STUDIES["collisions_mnist"], EXPERIMENTS["collisions_mnist"]
)
CM_MACRO = experiments("collisions_mnist", "macro")
CM_ALL = list(EXPERIMENTS["collisions_mnist"])


rule collide_micro_batch:
    input:
        mnist=MNIST_H5,
        model=MLP_MODEL,
        metrics=MLP_METRICS,
    output:
        batch=directory(CM.template("batch")),
    log:
        "logs/collisions_mnist/collide_micro_batch/{batch}.log",
    benchmark:
        benchmark("collide_micro_batch", "batch")
    wildcard_constraints:
        batch=names_pattern(CM_BATCHES),
    # A batch is a long job that the defences' scores and the study's report wait for: started
    # last, it ran nearly alone at the end of the default run.
    priority: 10
    conda:
        "../../envs/tensorflow.yaml"
    threads: 1
    params:
        experiments=lambda wildcards: {
            name: CM_MICRO[name] for name in CM_BATCHES[wildcards.batch]
        },
        interpolate=STUDIES["collisions_mnist"]["interpolate"],
        polytope=STUDIES["collisions_mnist"]["polytope"],
    script:
        "../../../scripts/collisions_mnist/collide_micro_batch.py"


rule collide_micro:
    # Copies the experiment's files out of its batch (a script: a `run:` block would start a
    # second Snakemake, about 5 s a job).
    input:
        batch=lambda wildcards: CM.path(
            "batch", batch=CM_BATCH_OF[wildcards.experiment]
        ),
    output:
        collide=CM.template("collide"),
        interpolate=CM.template("interpolate"),
        polytope=CM.template("polytope"),
    log:
        "logs/collisions_mnist/collide_micro/{experiment}.log",
    benchmark:
        benchmark("collide_micro", "experiment")
    wildcard_constraints:
        experiment=names_pattern(CM_MICRO),
    # A copy: done at once, so the jobs that wait for the files need not.
    priority: 10
    conda:
        "../../envs/data.yaml"
    script:
        "../../../scripts/collisions_mnist/collide_micro.py"


rule mnist_sources:
    input:
        mnist=MNIST_H5,
        metrics=MLP_METRICS,
    output:
        sources=CM.template("sources"),
    log:
        "logs/collisions_mnist/mnist_sources/{experiment}.log",
    benchmark:
        benchmark("mnist_sources", "experiment")
    wildcard_constraints:
        experiment=names_pattern(CM_MACRO),
    # The macro chain (sources, then a long optimisation) is the longest in the default run:
    # started first, it overlaps the other studies' jobs instead of running alone at the end.
    priority: 10
    conda:
        "../../envs/data.yaml"
    threads: 1
    params:
        patches=STUDIES["collisions_mnist"]["mnist_patches"],
        seed=lambda wildcards: CM_MACRO[wildcards.experiment]["seed"],
    script:
        "../../../scripts/collisions_mnist/mnist_sources.py"


rule collide_macro:
    input:
        sources=CM.template("sources"),
        mnist=MNIST_H5,
        model=MLP_MODEL,
        metrics=MLP_METRICS,
    output:
        collide=CM.template("collide"),
        interpolate=CM.template("interpolate"),
    log:
        "logs/collisions_mnist/collide_macro/{experiment}.log",
    benchmark:
        benchmark("collide_macro", "experiment")
    wildcard_constraints:
        experiment=names_pattern(CM_MACRO),
    priority: 10
    conda:
        "../../envs/tensorflow.yaml"
    threads: 1
    params:
        experiment=lambda wildcards: CM_MACRO[wildcards.experiment],
        interpolate=STUDIES["collisions_mnist"]["interpolate"],
        checkpoint=lambda wildcards: checkpoint_path(
            "collisions_mnist", wildcards.experiment
        ),
    script:
        "../../../scripts/collisions_mnist/collide_macro.py"


rule collisions_mnist_report:
    input:
        **collisions_layout.mnist_section_inputs(
            STUDIES["collisions_mnist"], EXPERIMENTS["collisions_mnist"], MLP_METRICS
        ),
    output:
        **section_files("collisions_mnist"),
        figures=report(
            directory(figures_folder("collisions_mnist")),
            patterns=["{name}.png"],
            caption="../../report/collisions_mnist/figures.rst",
            category="Feature collisions (MNIST)",
        ),
    log:
        "logs/collisions_mnist/report.log",
    benchmark:
        benchmark("collisions_mnist_report")
    # Ready long before the other studies finish (and the longest report, mostly drawing):
    # without a priority Snakemake left it to run alone at the end of the default run.
    priority: 5
    conda:
        "../../envs/report.yaml"
    threads: 1
    params:
        collide_names=CM_ALL,
        interpolate_names=CM_ALL,
        polytope_names=list(CM_MICRO),
        paper_case=STUDIES["collisions_mnist"]["paper_case"],
    script:
        "../../../scripts/collisions_mnist/report.py"


rule collisions_mnist:
    default_target: False
    input:
        **section_files("collisions_mnist"),
        damaged=damaged_targets,
