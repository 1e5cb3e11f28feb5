"""Time per corner: exact LP corners (HiGHS) against the gradient method, on the trained MNIST fc1.

Usage (after the workflow has run)::

    python benchmarks/bench_polytope.py [--experiment paper_3_to_7] [--repeats 3] [--gradient]

The gradient time is read from the experiment's collide file (``seconds`` /
``n_corners``: optimisation only, the batch of corners runs in one compiled
graph, so per corner is the batch time divided by the batch size); with
``--gradient`` the finder is also run here, on this machine, for a like-for-
like figure. LP timings are per single LP (one corner, or one end of a pixel
range), best and median over ``--repeats``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from fooled.attacks import corners, lp_corners
from fooled.core import h5io
from fooled.models import runtime
from fooled.models.handle import ModelHandle
from fooled.models.layout import MODELS
from fooled.studies.collisions.layout import MNIST_LAYOUT

ROOT = Path(__file__).resolve().parents[1]


def _time_lp(
    poly: lp_corners.CollisionPolytope, units: list[int], seed, repeats: int
) -> list[float]:
    times = []
    for _ in range(repeats):
        for result in lp_corners.lp_corners(poly, units, seed=seed):
            if not result.success:
                raise SystemExit(f"LP for unit {result.unit} failed: {result.message}")
            times.append(result.seconds)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", default="paper_3_to_7")
    parser.add_argument(
        "--run", default=str(ROOT), help="a workflow run's folder (its MLP, corners)"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--gradient", action="store_true", help="also run the gradient finder")
    args = parser.parse_args()

    collide_path = MNIST_LAYOUT.under(args.run).path("collide", experiment=args.experiment)
    arrays = h5io.read_arrays(
        collide_path, ["seed_image", "preact_target", "negative_units", "target_image"]
    )
    attrs = h5io.read_attrs(collide_path)
    runtime.limit_threads(1)
    model = runtime.load_model(MODELS.under(args.run).path("model", network="mlp"))
    layer = str(attrs["layer"])
    kernel, bias = model.get_layer(layer).get_weights()
    units = [int(u) for u in arrays["negative_units"]]
    seed = arrays["seed_image"].reshape(-1)

    started = time.perf_counter()
    poly = lp_corners.CollisionPolytope.from_layer(kernel, bias, arrays["preact_target"])
    build = time.perf_counter() - started
    vertex = _time_lp(poly, units, None, args.repeats)
    near = _time_lp(poly, units, seed, args.repeats)
    ranges = [lp_corners.pixel_range(poly, 14 * 28 + 14).seconds / 2 for _ in range(args.repeats)]

    n_corners = int(attrs["n_corners"])
    rows = [
        ("LP corner, vertex mode", vertex),
        ("LP corner, near_seed mode", near),
        ("LP pixel-range end (min or max)", ranges),
        ("gradient corner (collide file)", [float(attrs["seconds"]) / n_corners]),
    ]
    if args.gradient:
        handle = ModelHandle(model, layer)
        settings = corners.CornerSettings.from_config(attrs)
        result = corners.MicroCollisionFinder(handle.preact).find(
            seed, arrays["preact_target"], units, settings
        )
        rows.append(("gradient corner (run here)", [result.seconds / len(units)]))
        rows.append(("gradient graph tracing, once", [result.trace_seconds]))

    print(
        f"{args.experiment}: layer {layer} {kernel.shape[0]}x{kernel.shape[1]}, "
        f"{int(poly.positive.sum())} equality rows, {int((~poly.positive).sum())} inequality "
        f"rows; building the LP data took {build * 1000:.1f} ms"
    )
    print(f"{'method':<36} {'runs':>5} {'best s':>9} {'median s':>9}")
    for label, times in rows:
        print(f"{label:<36} {len(times):>5} {min(times):>9.4f} {statistics.median(times):>9.4f}")
    lp_median = statistics.median(vertex)
    gradient = float(attrs["seconds"]) / n_corners
    print(
        f"LP vertex corner / gradient corner: {lp_median / gradient:.2f}x "
        "(the LP corner is exact; the gradient corner stops at L_pos < threshold)"
    )


if __name__ == "__main__":
    main()
