rule train_model:
    input:
        mnist=MNIST_H5,
    output:
        model=MODEL,
        metrics=METRICS,
    log:
        "logs/train_model.log",
    params:
        settings=config["train"],
    threads: workflow.cores
    script:
        "../../scripts/train_model.py"
