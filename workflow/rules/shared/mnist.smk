# MNIST, downloaded and checksummed, and the project's MLP trained on it: shared by the
# MNIST studies.


rule download_mnist:
    output:
        mnist=MNIST_H5,
    log:
        "logs/shared/download_mnist.log",
    benchmark:
        benchmark("download_mnist")
    conda:
        "../../envs/data.yaml"
    threads: 1
    params:
        settings=config["datasets"]["mnist"],
    script:
        "../../../scripts/shared/download_mnist.py"


rule train_mlp:
    input:
        mnist=MNIST_H5,
    output:
        model=MLP_MODEL,
        metrics=MLP_METRICS,
    log:
        "logs/shared/train_mlp.log",
    benchmark:
        benchmark("train_mlp")
    # First after the download: the collisions, defences and macro chains all wait for it.
    priority: 20
    conda:
        "../../envs/tensorflow.yaml"
    threads: config["models"]["mlp"]["threads"]
    params:
        settings=training_settings("mlp"),
    script:
        "../../../scripts/shared/train_mlp.py"


rule train_lenet:
    input:
        mnist=MNIST_H5,
    output:
        model=MNIST_MODELS["lenet"][0],
        metrics=MNIST_MODELS["lenet"][1],
    log:
        "logs/shared/train_lenet.log",
    benchmark:
        benchmark("train_lenet")
    # Early too: the fooling chain (evolve, ascend, retrain) and the detector's scores of its
    # images wait for it; started last, they ran alone at the end of the default run.
    priority: 20
    conda:
        "../../envs/tensorflow.yaml"
    # One core reserved, whatever models.lenet.threads (TensorFlow's threads, fixed so that
    # every machine trains the same bits): at two threads it kept about 1.2 cores busy, and
    # a two-core reservation waited behind one-core jobs until the end of the default run.
    # On a cluster, the SLURM profile's set-threads gives the job its cores.
    threads: 1
    params:
        settings=training_settings("lenet"),
    script:
        "../../../scripts/shared/train_lenet.py"


# The same networks at their further seeds (models.<network>.replicate_seeds): one job a seed,
# the network's settings with only the seed changed.
rule train_mlp_seed:
    input:
        mnist=MNIST_H5,
    output:
        model=MNIST_REPLICATES["mlp"][0],
        metrics=MNIST_REPLICATES["mlp"][1],
    log:
        "logs/shared/train_mlp_seed{seed}.log",
    benchmark:
        benchmark("train_mlp_seed", "seed")
    wildcard_constraints:
        seed=r"\d+",
    conda:
        "../../envs/tensorflow.yaml"
    threads: config["models"]["mlp"]["threads"]
    params:
        settings=lambda wildcards: training_settings("mlp", int(wildcards.seed)),
    script:
        "../../../scripts/shared/train_mlp.py"


rule train_lenet_seed:
    input:
        mnist=MNIST_H5,
    output:
        model=MNIST_REPLICATES["lenet"][0],
        metrics=MNIST_REPLICATES["lenet"][1],
    log:
        "logs/shared/train_lenet_seed{seed}.log",
    benchmark:
        benchmark("train_lenet_seed", "seed")
    wildcard_constraints:
        seed=r"\d+",
    conda:
        "../../envs/tensorflow.yaml"
    threads: 1
    params:
        settings=lambda wildcards: training_settings("lenet", int(wildcards.seed)),
    script:
        "../../../scripts/shared/train_lenet.py"
