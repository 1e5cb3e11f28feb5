rule interpolate:
    input:
        collide=collide_path("{experiment}"),
        model=MODEL,
        mnist=MNIST_H5,
    output:
        interpolate_path("{experiment}"),
    log:
        "logs/interpolate/{experiment}.log",
    params:
        settings=config["interpolate"],
    threads: 1
    script:
        "../../scripts/interpolate.py"
