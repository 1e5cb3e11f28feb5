rule collide:
    input:
        mnist=MNIST_H5,
        model=MODEL,
        metrics=METRICS,
    output:
        collide_path("{experiment}"),
    log:
        "logs/collide/{experiment}.log",
    params:
        experiment=lambda wildcards: EXPERIMENTS[wildcards.experiment],
    wildcard_constraints:
        experiment="|".join(sorted(MICRO_EXPERIMENTS)) or "(?!)",
    threads: 1
    script:
        "../../scripts/collide.py"
