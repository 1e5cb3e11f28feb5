rule report:
    input:
        metrics=METRICS,
        collide=[collide_path(name) for name in EXPERIMENTS],
        interpolate=[interpolate_path(name) for name in EXPERIMENTS],
        polytope=[polytope_path(name) for name in POLYTOPE_EXPERIMENTS],
    output:
        html="results/report/report.html",
        summary="results/report/summary.json",
    log:
        "logs/report.log",
    params:
        experiment_names=list(EXPERIMENTS),
        polytope_names=POLYTOPE_EXPERIMENTS,
        config=config,
    threads: 1
    script:
        "../../scripts/report.py"
