# Defences (fast gradient sign, adversarial training, one autoencoder detector scored on every
# kind of input the run makes, and the attacks made adaptive to it). The other studies' inputs
# join when those studies are in the run. Target: `snakemake defences`.


rule defences_fgsm:
    input:
        mnist=MNIST_H5,
        model=MLP_MODEL,
    output:
        fgsm=f"{DF}/fgsm.h5",
    log:
        "logs/defences/fgsm.log",
    benchmark:
        benchmark("defences_fgsm")
    conda:
        "../../envs/tensorflow.yaml"
    threads: 1
    params:
        settings=DEFENCES["fgsm"],
    script:
        "../../../scripts/defences/fgsm.py"


rule defences_adversarial_training:
    input:
        mnist=MNIST_H5,
        model=MLP_MODEL,
        lbfgs=other_studies_inputs()["lbfgs"],
    output:
        model=f"{DF}/adversarial_training/model.keras",
        metrics=f"{DF}/adversarial_training.h5",
    log:
        "logs/defences/adversarial_training.log",
    benchmark:
        benchmark("defences_adversarial_training")
    conda:
        "../../envs/tensorflow.yaml"
    threads: 1
    params:
        settings=DEFENCES["adversarial_training"],
        fgsm=DEFENCES["fgsm"],
    script:
        "../../../scripts/defences/adversarial_training.py"


rule defences_autoencoder:
    input:
        mnist=MNIST_H5,
    output:
        model=f"{DF}/autoencoder/model.keras",
        errors=f"{DF}/autoencoder.h5",
    log:
        "logs/defences/autoencoder.log",
    benchmark:
        benchmark("defences_autoencoder")
    conda:
        "../../envs/tensorflow.yaml"
    threads: 1
    params:
        settings=DEFENCES["autoencoder"],
    script:
        "../../../scripts/defences/autoencoder.py"


rule defences_score:
    input:
        **other_studies_inputs(),
        mnist=MNIST_H5,
        model=MLP_MODEL,
        autoencoder=f"{DF}/autoencoder/model.keras",
        errors=f"{DF}/autoencoder.h5",
        fgsm=f"{DF}/fgsm.h5",
    output:
        score=f"{DF}/score.h5",
    log:
        "logs/defences/score.log",
    benchmark:
        benchmark("defences_score")
    conda:
        "../../envs/tensorflow.yaml"
    threads: 1
    params:
        settings=DEFENCES["score"],
    script:
        "../../../scripts/defences/score.py"


rule defences_adaptive:
    input:
        mnist=MNIST_H5,
        model=MLP_MODEL,
        autoencoder=f"{DF}/autoencoder/model.keras",
        errors=f"{DF}/autoencoder.h5",
        collisions=defences_adaptive_collisions(),
        sources=defences_adaptive_sources(),
    output:
        adaptive=f"{DF}/adaptive.h5",
    log:
        "logs/defences/adaptive.log",
    benchmark:
        benchmark("defences_adaptive")
    conda:
        "../../envs/tensorflow.yaml"
    threads: 1
    params:
        settings=DEFENCES["adaptive"],
        fgsm=DEFENCES["fgsm"],
    script:
        "../../../scripts/defences/adaptive.py"


rule defences_report:
    input:
        fgsm=f"{DF}/fgsm.h5",
        metrics=f"{DF}/adversarial_training.h5",
        errors=f"{DF}/autoencoder.h5",
        score=f"{DF}/score.h5",
        adaptive=f"{DF}/adaptive.h5",
    output:
        **section_files("defences"),
        figures=report(
            directory("results/report/defences/figures"),
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
