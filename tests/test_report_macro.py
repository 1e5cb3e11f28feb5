"""Tables 2-4: the paper's figures beside ours only with the paper's weights."""

from fooled.studies.collisions import tables_imagenet


def _record(weights, table="3a", mode="macro"):
    return tables_imagenet.annotate(
        {
            "mode": mode,
            "dataset": "imagenet",
            "model": "vgg16",
            "weights": weights,
            "table": table,
            "dist_dataset_mean": 37000.0,
            "dist_corners_mean": 5000.0,
            "interp_top_class_accuracy": 1.0,
            "target_prob": 0.9,
            "interp_prob_mean": 0.9,
            "corners_converged": 5,
            "n_corners": 5,
            "steps_run": 4,
            "seed_class": 871,
            "target_class": 682,
        }
    )


def test_random_weight_rows_are_marked_not_comparable():
    random_row = _record("random")
    assert random_row["comparable_to_paper"] is False
    assert "not comparable to the paper" in random_row["not_comparable_reason"]
    assert _record("imagenet")["comparable_to_paper"] is True
    assert _record("file:0123456789abcdef")["comparable_to_paper"] is False

    html = tables_imagenet.tables_section(
        {
            "experiments": {
                "trimaran_to_obelisk": random_row,
                "mnist_macro": {
                    **random_row,
                    "dataset": "mnist",
                    "weights": "trained",
                    "comparable_to_paper": True,
                },
            }
        }
    )
    table3 = html[html.index("Table 3: ImageNet") : html.index("Table 4: ImageNet")]
    paper_table, _, other = table3.partition("not comparable to the paper:</strong>")
    # The paper's rows stand alone; our random-weight row is in its own, labelled table.
    assert "5,909.37" in paper_table and "trimaran_to_obelisk" not in paper_table
    assert "trimaran_to_obelisk — not comparable to the paper (random)" in other
    assert 'class="random"' in other


def test_imagenet_weight_rows_sit_beside_the_paper():
    html = tables_imagenet.tables_section({"experiments": {"church": _record("imagenet", "4")}})
    table4 = html[html.index("Table 4: ImageNet") :]
    assert "this reproduction: church" in table4 and "9,587.92" in table4
    assert "not comparable" not in table4
