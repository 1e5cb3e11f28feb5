# Szegedy et al., intriguing properties: the paper's MNIST models (one job per model and seed:
# training, then box-constrained L-BFGS adversarial examples), their transfer across models and
# training sets, adversarial training, units against random directions, and Lipschitz bounds
# (VGG-16 too). Target: `snakemake szegedy`.


rule szegedy_model:
    input:
        mnist=MNIST_H5,
    output:
        model=sz_file("model.keras", "{name}", "{seed}"),
        metrics=sz_file("metrics.h5", "{name}", "{seed}"),
        attack=sz_file("attack.h5", "{name}", "{seed}"),
    log:
        "logs/szegedy/model/{name}/seed{seed}.log",
    benchmark:
        "results/benchmarks/szegedy_model/{name}_seed{seed}.tsv"
    wildcard_constraints:
        name=names_pattern(SZ_EXPERIMENTS),
        seed=r"\d+",
    conda:
        "../../envs/tensorflow.yaml"
    threads: 1
    params:
        models=lambda wildcards: [
            SZ_INSTANCES[(wildcards.name, wildcards.seed)].params()
        ],
        split_seed=SZEGEDY["split_seed"],
        attack=SZEGEDY["attack"],
    script:
        "../../../scripts/szegedy/model.py"


rule szegedy_transfer:
    input:
        mnist=MNIST_H5,
        models=sz_files("model.keras"),
        attacks=sz_files("attack.h5"),
    output:
        transfer=f"{SZ}/transfer.h5",
    log:
        "logs/szegedy/transfer.log",
    benchmark:
        benchmark("szegedy_transfer")
    conda:
        "../../envs/tensorflow.yaml"
    threads: 1
    params:
        models=sz_params(),
        transfer=SZEGEDY["transfer"],
        attack=SZEGEDY["attack"],
    script:
        "../../../scripts/szegedy/transfer.py"


rule szegedy_adversarial:
    input:
        mnist=MNIST_H5,
        base_model=sz_file("model.keras", SZ_BASE, "{seed}"),
        base_attack=sz_file("attack.h5", SZ_BASE, "{seed}"),
    output:
        model=f"{SZ}/adversarial/seed{{seed}}/model.keras",
        metrics=f"{SZ}/adversarial/seed{{seed}}/metrics.h5",
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
        models=sz_files("model.keras", SZ_UNITS),
    output:
        units=f"{SZ}/units.h5",
    log:
        "logs/szegedy/units.log",
    benchmark:
        benchmark("szegedy_units")
    conda:
        "../../envs/tensorflow.yaml"
    threads: 1
    params:
        models=sz_params(SZ_UNITS),
        units=SZEGEDY["units"],
    script:
        "../../../scripts/szegedy/units.py"


rule szegedy_bounds:
    input:
        **sz_vgg16_inputs(),
        models=sz_files("model.keras", SZ_BOUNDS),
        attacks=sz_files("attack.h5", SZ_BOUNDS),
    output:
        bounds=f"{SZ}/bounds.h5",
    log:
        "logs/szegedy/bounds.log",
    benchmark:
        benchmark("szegedy_bounds")
    conda:
        "../../envs/tensorflow.yaml"
    threads: 1
    params:
        models=sz_params(SZ_BOUNDS),
        bounds=SZEGEDY["bounds"],
    script:
        "../../../scripts/szegedy/bounds.py"


rule szegedy_report:
    input:
        **szegedy_section_inputs(),
    output:
        **section_files("szegedy"),
        figures=report(
            directory("results/report/szegedy/figures"),
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
        models=sz_params(),
    script:
        "../../../scripts/szegedy/report.py"


rule szegedy:
    default_target: False
    input:
        **section_files("szegedy"),
        damaged=damaged_targets,
