"""The paper's numbers (Li, Zhang, Malik; SPEC section 4): what a reproduction is judged by."""

from __future__ import annotations

from typing import Any

# Table 1 of the paper (MNIST "3" -> "7", micro level, hidden layer 1 of a
# 2x256 MLP). The reproduction is judged against these numbers.
PAPER_TABLE1: dict[str, float] = {
    "dist_dataset_mean": 10.21,
    "dist_corners_mean": 1.28,
    "interp_top_class_accuracy": 1.0,
    "target_prob": 1.0,
    "interp_prob_mean": 1.0,
    "test_accuracy": 0.9664,
}

# The paper's ImageNet numbers (SPEC section 4), by table row.
PAPER_IMAGENET: dict[str, dict[str, Any]] = {
    "2a": {
        "case": "home theater → jeep, micro",
        "dist_dataset_mean": 37538.22,
        "dist_corners_mean": 4906.56,
        "interp_top_class_accuracy": 1.0,
        "target_prob": 0.993,
        "interp_prob_mean": 0.995,
    },
    "2b": {
        "case": "Blenheim spaniel → goldfish, micro",
        "dist_dataset_mean": 37538.22,
        "dist_corners_mean": 8959.69,
        "interp_top_class_accuracy": 1.0,
        "target_prob": 0.999,
        "interp_prob_mean": 0.999,
    },
    "3a": {
        "case": "trimaran → obelisk, macro",
        "dist_dataset_mean": 37538.22,
        "dist_corners_mean": 5909.37,
        "interp_top_class_accuracy": 1.0,
        "target_prob": 0.997,
        "interp_prob_mean": 0.992,
    },
    "3b": {
        "case": 'eggnog → "rubber eraser" (a misclassified carton), macro',
        "dist_dataset_mean": 37538.22,
        "dist_corners_mean": 6074.86,
        "interp_top_class_accuracy": 1.0,
        "target_prob": 0.579,
        "interp_prob_mean": 0.585,
    },
    "4": {
        "case": "church → cleaver, macro",
        "dist_dataset_mean": 37538.22,
        "dist_corners_mean": 9587.92,
        "interp_top_class_accuracy": 1.0,
        "target_prob": 0.999,
        "interp_prob_mean": 0.8,
    },
}
