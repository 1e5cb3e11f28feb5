# Szegedy et al., intriguing properties: the paper's MNIST models (one job per model and seed:
# training, then box-constrained L-BFGS adversarial examples), their transfer across models and
# training sets, adversarial training, units against random directions, and Lipschitz bounds
# (VGG-16 too). Target: `snakemake szegedy`.

from fooled.studies.szegedy import layout as szegedy_layout
from fooled.studies.szegedy import settings as szegedy_settings

SZ = szegedy_layout.LAYOUT
SZEGEDY = STUDIES["szegedy"]
SZ_EXPERIMENTS = EXPERIMENTS["szegedy"]
SZ_INSTANCES = {
    (instance.name, str(instance.seed)): instance
    for instance in szegedy_settings.model_instances(SZ_EXPERIMENTS)
}
SZ_UNITS = (
    szegedy_settings.units_models(SZEGEDY, SZ_EXPERIMENTS) if SZ_EXPERIMENTS else []
)
SZ_BOUNDS = (
    szegedy_settings.bounds_models(SZEGEDY, SZ_EXPERIMENTS) if SZ_EXPERIMENTS else []
)
SZ_BASE = SZEGEDY["adversarial_training"]["base"]
# Models trained and attacked together (studies.szegedy.models_per_job), and back.
SZ_BATCHES = szegedy_layout.model_batches(SZEGEDY, SZ_EXPERIMENTS)
SZ_BATCH_OF = szegedy_layout.batch_of(SZEGEDY, SZ_EXPERIMENTS)


rule szegedy_model_batch:
    input:
        mnist=MNIST_H5,
    output:
        batch=directory(SZ.template("batch")),
    log:
        "logs/szegedy/model_batch/{batch}.log",
    benchmark:
        benchmark("szegedy_model_batch", "batch")
    wildcard_constraints:
        batch=names_pattern(SZ_BATCHES),
    # Long jobs at the head of a chain (the bounds, transfer, adversarial training and the
    # report wait for them): started late, that chain ran nearly alone at the end of the run.
    priority: 10
    conda:
        "../../envs/tensorflow.yaml"
    threads: 1
    params:
        models=lambda wildcards: [
            SZ_INSTANCES[instance].params() for instance in SZ_BATCHES[wildcards.batch]
        ],
        split_seed=SZEGEDY["split_seed"],
        attack=SZEGEDY["attack"],
    script:
        "../../../scripts/szegedy/model_batch.py"


rule szegedy_model:
    # Copies the model's files out of its batch (a script: see fooled.core.batches).
    input:
        batch=lambda wildcards: SZ.path(
            "batch", batch=SZ_BATCH_OF[(wildcards.name, wildcards.seed)]
        ),
    output:
        model=SZ.template("model"),
        metrics=SZ.template("metrics"),
        attack=SZ.template("attack"),
    log:
        "logs/szegedy/model/{name}/seed{seed}.log",
    benchmark:
        WORKFLOW.path("benchmark", rule="szegedy_model", job="{name}_seed{seed}")
    wildcard_constraints:
        name=names_pattern(SZ_EXPERIMENTS),
        seed=r"\d+",
    # A copy: done at once, so the jobs that wait for the files need not.
    priority: 10
    conda:
        "../../envs/data.yaml"
    script:
        "../../../scripts/szegedy/model.py"


rule szegedy_attack_train:
    # Table 1's attack on each model's own training images: one job for every model.
    input:
        mnist=MNIST_H5,
        models=szegedy_layout.files("model", SZEGEDY, SZ_EXPERIMENTS),
    output:
        attacks=szegedy_layout.files("attack_train", SZEGEDY, SZ_EXPERIMENTS),
    log:
        "logs/szegedy/attack_train.log",
    benchmark:
        benchmark("szegedy_attack_train")
    conda:
        "../../envs/tensorflow.yaml"
    threads: 1
    params:
        models=szegedy_layout.instance_params(SZ_EXPERIMENTS),
        split_seed=SZEGEDY["split_seed"],
        attack=SZEGEDY["attack"],
        train_attack=SZEGEDY["train_attack"],
    script:
        "../../../scripts/szegedy/attack_train.py"


rule szegedy_transfer:
    input:
        mnist=MNIST_H5,
        models=szegedy_layout.files("model", SZEGEDY, SZ_EXPERIMENTS),
        attacks=szegedy_layout.files("attack", SZEGEDY, SZ_EXPERIMENTS),
    output:
        transfer=SZ.path("transfer"),
    log:
        "logs/szegedy/transfer.log",
    benchmark:
        benchmark("szegedy_transfer")
    conda:
        "../../envs/tensorflow.yaml"
    threads: 1
    params:
        models=szegedy_layout.instance_params(SZ_EXPERIMENTS),
        transfer=SZEGEDY["transfer"],
        attack=SZEGEDY["attack"],
    script:
        "../../../scripts/szegedy/transfer.py"


rule szegedy_adversarial:
    input:
        mnist=MNIST_H5,
        base_model=SZ.path("model", name=SZ_BASE),
        base_attack=SZ.path("attack", name=SZ_BASE),
    output:
        model=SZ.template("adversarial_model"),
        metrics=SZ.template("adversarial_metrics"),
    log:
        "logs/szegedy/adversarial/seed{seed}.log",
    benchmark:
        benchmark("szegedy_adversarial", "seed")
    wildcard_constraints:
        seed=r"\d+",
    conda:
        "../../envs/tensorflow.yaml"
    threads: 1
    params:
        base=lambda wildcards: SZ_INSTANCES[(SZ_BASE, wildcards.seed)].params(),
        adversarial_training=SZEGEDY["adversarial_training"],
        attack=SZEGEDY["attack"],
        split_seed=SZEGEDY["split_seed"],
    script:
        "../../../scripts/szegedy/adversarial_training.py"


rule szegedy_units:
    input:
        mnist=MNIST_H5,
        models=szegedy_layout.files("model", SZEGEDY, SZ_EXPERIMENTS, SZ_UNITS),
    output:
        units=SZ.path("units"),
    log:
        "logs/szegedy/units.log",
    benchmark:
        benchmark("szegedy_units")
    conda:
        "../../envs/tensorflow.yaml"
    threads: 1
    params:
        models=szegedy_layout.instance_params(SZ_EXPERIMENTS, SZ_UNITS),
        units=SZEGEDY["units"],
    script:
        "../../../scripts/szegedy/units.py"


rule szegedy_bounds:
    input:
        **(
            {"vgg16_weights": VGG16_WEIGHTS}
            if szegedy_layout.vgg16_weights_wanted(SZEGEDY)
            else {}
        ),
        models=szegedy_layout.files("model", SZEGEDY, SZ_EXPERIMENTS, SZ_BOUNDS),
        attacks=szegedy_layout.files("attack", SZEGEDY, SZ_EXPERIMENTS, SZ_BOUNDS),
    output:
        bounds=SZ.path("bounds"),
    log:
        "logs/szegedy/bounds.log",
    benchmark:
        benchmark("szegedy_bounds")
    conda:
        "../../envs/tensorflow.yaml"
    threads: 1
    params:
        models=szegedy_layout.instance_params(SZ_EXPERIMENTS, SZ_BOUNDS),
        bounds=SZEGEDY["bounds"],
    script:
        "../../../scripts/szegedy/bounds.py"


rule szegedy_report:
    input:
        **szegedy_layout.section_inputs(SZEGEDY, SZ_EXPERIMENTS),
    output:
        **section_files("szegedy"),
        figures=report(
            directory(figures_folder("szegedy")),
            patterns=["{name}.png"],
            caption="../../report/szegedy/figures.rst",
            category="Adversarial examples (Szegedy et al.)",
        ),
    log:
        "logs/szegedy/report.log",
    benchmark:
        benchmark("szegedy_report")
    conda:
        "../../envs/report.yaml"
    threads: 1
    params:
        models=szegedy_layout.instance_params(SZ_EXPERIMENTS),
    script:
        "../../../scripts/szegedy/report.py"


rule szegedy:
    default_target: False
    input:
        **section_files("szegedy"),
        damaged=damaged_targets,
