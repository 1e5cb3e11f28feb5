# ImageNet patch database (issue #3): ingest -> patch map -> FAISS index -> evaluation,
# and the source images of each seed image. Runs only when requested: `snakemake imagenet`,
# or as part of `rule all` when the config has an enabled `imagenet` section.


rule imagenet_manifest:
    output:
        IMAGENET_MANIFEST,
    log:
        "logs/imagenet/manifest.log",
    params:
        settings=imagenet_ingest_settings(),
    threads: 1
    script:
        "../../scripts/imagenet_manifest.py"


rule ingest_imagenet:
    input:
        manifest=IMAGENET_MANIFEST,
    output:
        imagenet_shard_path("{shard}"),
    log:
        "logs/imagenet/ingest/{shard}.log",
    params:
        settings=imagenet_ingest_settings(),
    wildcard_constraints:
        shard=r"\d{4}",
    threads: 1
    script:
        "../../scripts/ingest_imagenet.py"


rule extract_patches:
    input:
        shards=imagenet_shard_paths(),
    output:
        IMAGENET_PATCH_MAP,
    log:
        "logs/imagenet/extract_patches.log",
    params:
        settings=imagenet_patch_settings(),
    threads: 1
    script:
        "../../scripts/extract_patches.py"


rule build_index:
    input:
        patch_map=IMAGENET_PATCH_MAP,
        shards=imagenet_shard_paths(),
    output:
        index=IMAGENET_INDEX,
        record=IMAGENET_INDEX_RECORD,
    log:
        "logs/imagenet/build_index.log",
    params:
        settings=imagenet_index_settings(),
    threads: workflow.cores
    script:
        "../../scripts/build_index.py"


rule evaluate_index:
    input:
        index=IMAGENET_INDEX,
        record=IMAGENET_INDEX_RECORD,
        patch_map=IMAGENET_PATCH_MAP,
        shards=imagenet_shard_paths(),
    output:
        evaluation="results/imagenet/index/evaluation.h5",
        summary=IMAGENET_INDEX_SUMMARY,
    log:
        "logs/imagenet/evaluate_index.log",
    params:
        settings=imagenet_evaluate_settings(),
    threads: workflow.cores
    script:
        "../../scripts/evaluate_index.py"


rule query_sources:
    input:
        manifest=IMAGENET_MANIFEST,
        index=IMAGENET_INDEX,
        record=IMAGENET_INDEX_RECORD,
        patch_map=IMAGENET_PATCH_MAP,
        shards=imagenet_shard_paths(),
    output:
        imagenet_sources_path("{seed}"),
    log:
        "logs/imagenet/query_sources/{seed}.log",
    params:
        settings=imagenet_query_settings(),
        seed=lambda wildcards: IMAGENET_SEEDS[wildcards.seed],
    wildcard_constraints:
        seed="|".join(sorted(IMAGENET_SEEDS)) or "(?!)",
    threads: workflow.cores
    script:
        "../../scripts/query_sources.py"


rule imagenet:
    input:
        imagenet_outputs(),
    default_target: False
