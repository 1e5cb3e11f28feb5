rule report:
    input:
        metrics=METRICS,
        collide=[collide_path(name) for name in EXPERIMENTS]
        + [imagenet_collide_path(name) for name in IMAGENET_EXPERIMENTS],
        interpolate=[interpolate_path(name) for name in EXPERIMENTS]
        + [imagenet_interpolate_path(name) for name in IMAGENET_EXPERIMENTS],
        polytope=[polytope_path(name) for name in POLYTOPE_EXPERIMENTS],
        imagenet_index=[IMAGENET_INDEX_SUMMARY] if IMAGENET_ENABLED else [],
    output:
        html="results/report/report.html",
        summary="results/report/summary.json",
    log:
        "logs/report.log",
    params:
        experiment_names=list(EXPERIMENTS) + list(IMAGENET_EXPERIMENTS),
        polytope_names=POLYTOPE_EXPERIMENTS,
        config=config,
    threads: 1
    script:
        "../../scripts/report.py"
