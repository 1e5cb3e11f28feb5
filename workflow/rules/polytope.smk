# Exact collision polytope of fc1 by linear programming: LP corners and certificates.
# Only experiments in POLYTOPE_EXPERIMENTS (micro, layer fc1) have this rule.


rule polytope:
    input:
        collide=collide_path("{experiment}"),
        model=MODEL,
        mnist=MNIST_H5,
    output:
        polytope_path("{experiment}"),
    log:
        "logs/polytope/{experiment}.log",
    params:
        settings=config["polytope"],
        interpolate=config["interpolate"],
    wildcard_constraints:
        experiment="|".join(sorted(POLYTOPE_EXPERIMENTS)) or "(?!)",
    threads: 1
    script:
        "../../scripts/polytope.py"
