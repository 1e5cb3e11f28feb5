# The ImageNet classifier's pretrained weights (Keras' VGG-16 file, MD5 verified): shared by
# the ImageNet studies. Not needed with random weights or a model file of one's own.


rule download_vgg16:
    output:
        weights=VGG16_WEIGHTS,
        record=VGG16_RECORD,
    log:
        "logs/shared/download_vgg16.log",
    benchmark:
        benchmark("download_vgg16")
    conda:
        "../../envs/tensorflow.yaml"
    threads: 1
    params:
        settings=IMAGENET_MODEL["download"],
    script:
        "../../../scripts/shared/download_vgg16.py"
