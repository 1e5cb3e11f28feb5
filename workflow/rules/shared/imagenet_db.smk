# The ImageNet patch database (shared by the ImageNet studies): ingest -> patch map -> FAISS
# index (unless datasets.imagenet.index.mode is exact) -> evaluation, and the source images of
# each seed image. `snakemake imagenet` builds
# it alone; the studies that need it ask for its files.


rule imagenet_manifest:
    output:
        manifest=IMAGENET_MANIFEST,
    log:
        "logs/shared/imagenet/manifest.log",
    benchmark:
        benchmark("imagenet_manifest")
    conda:
        "../../envs/data.yaml"
    threads: 1
    params:
        settings=imagenet_ingest_settings(),
    script:
        "../../../scripts/shared/imagenet_manifest.py"


rule ingest_imagenet:
    input:
        manifest=IMAGENET_MANIFEST,
    output:
        shard=imagenet_shard_path("{shard}"),
    log:
        "logs/shared/imagenet/ingest/{shard}.log",
    benchmark:
        benchmark("ingest_imagenet", "shard")
    wildcard_constraints:
        shard=r"\d{4}",
    conda:
        "../../envs/data.yaml"
    threads: 1
    params:
        settings=imagenet_ingest_settings(),
    script:
        "../../../scripts/shared/ingest_imagenet.py"


rule extract_patches:
    input:
        shards=imagenet_shard_paths(),
    output:
        patch_map=IMAGENET_PATCH_MAP,
    log:
        "logs/shared/imagenet/extract_patches.log",
    benchmark:
        benchmark("extract_patches")
    conda:
        "../../envs/data.yaml"
    threads: 1
    params:
        settings=imagenet_patch_settings(),
    script:
        "../../../scripts/shared/extract_patches.py"


rule build_index:
    input:
        patch_map=IMAGENET_PATCH_MAP,
        shards=imagenet_shard_paths(),
    output:
        index=IMAGENET_INDEX,
        record=IMAGENET_INDEX_RECORD,
    log:
        "logs/shared/imagenet/build_index.log",
    benchmark:
        benchmark("build_index")
    conda:
        "../../envs/data.yaml"
    threads: MAX_THREADS
    params:
        settings=imagenet_index_settings(),
    script:
        "../../../scripts/shared/build_index.py"


rule evaluate_index:
    input:
        **search_index_files(),
        patch_map=IMAGENET_PATCH_MAP,
        shards=imagenet_shard_paths(),
    output:
        evaluation=IMAGENET_FILES.path("evaluation"),
        summary=IMAGENET_INDEX_SUMMARY,
    log:
        "logs/shared/imagenet/evaluate_index.log",
    benchmark:
        benchmark("evaluate_index")
    conda:
        "../../envs/data.yaml"
    threads: MAX_THREADS
    params:
        settings=imagenet_evaluate_settings(),
    script:
        "../../../scripts/shared/evaluate_index.py"


rule query_sources:
    input:
        **search_index_files(),
        manifest=IMAGENET_MANIFEST,
        patch_map=IMAGENET_PATCH_MAP,
        shards=imagenet_shard_paths(),
    output:
        sources=imagenet_sources_path("{seed}"),
    log:
        "logs/shared/imagenet/query_sources/{seed}.log",
    benchmark:
        benchmark("query_sources", "seed")
    wildcard_constraints:
        seed=names_pattern(IMAGENET_SEEDS),
    conda:
        "../../envs/data.yaml"
    threads: MAX_THREADS
    params:
        settings=imagenet_query_settings(),
        seed=lambda wildcards: IMAGENET_SEEDS[wildcards.seed],
    script:
        "../../../scripts/shared/query_sources.py"


rule imagenet:
    default_target: False
    input:
        outputs=imagenet_outputs(),
        damaged=damaged_targets,
