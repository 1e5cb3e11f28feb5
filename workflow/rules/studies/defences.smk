# Defences (fast gradient sign, adversarial training, one autoencoder detector scored on every
# kind of input the run makes, and the attacks made adaptive to it). The other studies' inputs
# join when those studies are in the run. Target: `snakemake defences`. Each rule's inputs,
# outputs and settings come from the study's job declaration (fooled.studies.defences.layout.
# jobs), which the runs outside Snakemake (benchmarks, tests) use too.

from fooled.studies.defences import layout as defences_layout

DEFENCES = STUDIES["defences"]
# What the detector is scored on from the other studies, and the collision experiments the
# adaptive stage redoes (null in the config: every one).
_REDO = DEFENCES["adaptive"]["collision_experiments"]
_READS = study_inputs("defences")
_REDONE = study_inputs(
    "defences", **({} if _REDO is None else {"collisions": _REDO, "sources": _REDO})
)
# The MLP's further seeds (models.mlp.replicate_seeds): the seed stages below run at each.
DF_MLP_SEEDS = config["models"]["mlp"]["replicate_seeds"]
DF_JOBS = defences_layout.jobs(
    DEFENCES, _READS, _REDONE, registry.siblings, mlp_seeds=DF_MLP_SEEDS
)
DF_SEED_JOBS = defences_layout.seed_jobs(DEFENCES, "{seed}")


rule defences_fgsm:
    input:
        **DF_JOBS["fgsm"]["input"],
    output:
        **DF_JOBS["fgsm"]["output"],
    log:
        "logs/defences/fgsm.log",
    benchmark:
        benchmark("defences_fgsm")
    conda:
        "../../envs/tensorflow.yaml"
    threads: 1
    params:
        **DF_JOBS["fgsm"]["params"],
    script:
        "../../../scripts/defences/fgsm.py"


rule defences_adversarial_training:
    input:
        **DF_JOBS["adversarial_training"]["input"],
    output:
        **DF_JOBS["adversarial_training"]["output"],
    log:
        "logs/defences/adversarial_training.log",
    benchmark:
        benchmark("defences_adversarial_training")
    conda:
        "../../envs/tensorflow.yaml"
    threads: 1
    params:
        **DF_JOBS["adversarial_training"]["params"],
    script:
        "../../../scripts/defences/adversarial_training.py"


rule defences_autoencoder:
    input:
        **DF_JOBS["autoencoder"]["input"],
    output:
        **DF_JOBS["autoencoder"]["output"],
    log:
        "logs/defences/autoencoder.log",
    benchmark:
        benchmark("defences_autoencoder")
    conda:
        "../../envs/tensorflow.yaml"
    threads: 1
    params:
        **DF_JOBS["autoencoder"]["params"],
    script:
        "../../../scripts/defences/autoencoder.py"


rule defences_fgsm_seed:
    input:
        **DF_SEED_JOBS["fgsm"]["input"],
    output:
        **DF_SEED_JOBS["fgsm"]["output"],
    log:
        "logs/defences/seed{seed}/fgsm.log",
    benchmark:
        benchmark("defences_fgsm_seed", "seed")
    wildcard_constraints:
        seed=r"\d+",
    conda:
        "../../envs/tensorflow.yaml"
    threads: 1
    params:
        **defences_layout.seed_params(DEFENCES, "fgsm"),
    script:
        "../../../scripts/defences/fgsm.py"


rule defences_adversarial_training_seed:
    input:
        **DF_SEED_JOBS["adversarial_training"]["input"],
    output:
        **DF_SEED_JOBS["adversarial_training"]["output"],
    log:
        "logs/defences/seed{seed}/adversarial_training.log",
    benchmark:
        benchmark("defences_adversarial_training_seed", "seed")
    wildcard_constraints:
        seed=r"\d+",
    conda:
        "../../envs/tensorflow.yaml"
    threads: 1
    params:
        **defences_layout.seed_params(DEFENCES, "adversarial_training"),
    script:
        "../../../scripts/defences/adversarial_training.py"


rule defences_autoencoder_seed:
    input:
        **DF_SEED_JOBS["autoencoder"]["input"],
    output:
        **DF_SEED_JOBS["autoencoder"]["output"],
    log:
        "logs/defences/seed{seed}/autoencoder.log",
    benchmark:
        benchmark("defences_autoencoder_seed", "seed")
    wildcard_constraints:
        seed=r"\d+",
    conda:
        "../../envs/tensorflow.yaml"
    threads: 1
    params:
        **defences_layout.seed_params(DEFENCES, "autoencoder"),
    script:
        "../../../scripts/defences/autoencoder.py"


rule defences_score:
    input:
        **DF_JOBS["score"]["input"],
    output:
        **DF_JOBS["score"]["output"],
    log:
        "logs/defences/score.log",
    benchmark:
        benchmark("defences_score")
    conda:
        "../../envs/tensorflow.yaml"
    threads: 1
    params:
        **DF_JOBS["score"]["params"],
    script:
        "../../../scripts/defences/score.py"


rule defences_adaptive:
    input:
        **DF_JOBS["adaptive"]["input"],
    output:
        **DF_JOBS["adaptive"]["output"],
    log:
        "logs/defences/adaptive.log",
    benchmark:
        benchmark("defences_adaptive")
    conda:
        "../../envs/tensorflow.yaml"
    threads: 1
    params:
        **DF_JOBS["adaptive"]["params"],
    script:
        "../../../scripts/defences/adaptive.py"


rule defences_report:
    input:
        **DF_JOBS["report"]["input"],
    output:
        **DF_JOBS["report"]["output"],
        figures=report(
            directory(figures_folder("defences")),
            patterns=["{name}.png"],
            caption="../../report/defences/figures.rst",
            category="Defences",
        ),
    log:
        "logs/defences/report.log",
    benchmark:
        benchmark("defences_report")
    conda:
        "../../envs/report.yaml"
    threads: 1
    script:
        "../../../scripts/defences/report.py"


rule defences:
    default_target: False
    input:
        **section_files("defences"),
        damaged=damaged_targets,
