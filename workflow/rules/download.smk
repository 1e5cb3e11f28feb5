rule download_mnist:
    output:
        MNIST_H5,
    log:
        "logs/download_mnist.log",
    params:
        settings=config["mnist"],
    threads: 1
    script:
        "../../scripts/download_mnist.py"
