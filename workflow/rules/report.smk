# The report: every enabled study's section joined into one self-contained page and one
# summary.json (`snakemake --report report.zip` builds Snakemake's browsable report too).


rule report:
    input:
        **report_inputs(),
    output:
        html=report(
            "results/report/report.html",
            caption="../report/report.rst",
            category="Report",
        ),
        summary="results/report/summary.json",
    log:
        "logs/report.log",
    benchmark:
        benchmark("report")
    conda:
        "../envs/report.yaml"
    threads: 1
    params:
        config=config,
    script:
        "../../scripts/report/assemble.py"
