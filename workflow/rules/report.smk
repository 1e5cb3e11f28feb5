# The report: every enabled study's section joined into one self-contained page and one
# summary.json (`snakemake --report report.zip` builds Snakemake's browsable report too).


rule report:
    input:
        **report_inputs(),
    output:
        html=report(
            REPORT.path("page"),
            caption="../report/report.rst",
            category="Report",
        ),
        summary=REPORT.path("summary"),
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
