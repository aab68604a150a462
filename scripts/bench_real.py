"""Benchmark of mapping and localization on real, unposed photos against plain pycolmap.

    .venv/bin/python scripts/bench_real.py [--data ../shared/data/sceaux] [--cache DIR]
        [--variants exif,noexif,mixed,distractors] [--methods sfm,points,rpr] [--no-loo]
        [--json OUT]

Reference: a plain pycolmap reconstruction of all photos (SIFT at 1600 px, exhaustive
matching, incremental mapping; COLMAP's own EXIF priors), cached. Every figure below is in
% of its scene radius (median distance of its camera centres from their centroid).

For each variant of the photo set (built in a temp folder):
- exif: the photos as they are;
- noexif: EXIF stripped (pixels untouched): no intrinsics at all;
- mixed: every 3rd photo halved in size, every 3rd+1 centre-cropped to 80 % (other cameras,
  no EXIF), the rest as they are;
- sizes: every photo resized to its own size (45-100 %), no EXIF: one camera per photo;
- distractors: the photos plus images of another place (fox photos when present, else
  synthetic room views): those must not register, and localized against the map they must
  fail.

it reports: a full map build (registered photos, each camera's prior vs final focal and, for
the original camera, the error against ``K.txt``; the camera centres' residual after a
similarity alignment to the reference) with its time beside pycolmap's; then leave-one-out
localization of every photo against a map of the others, aligned to the reference by the
other photos' centres: median and max error, recall, and every reported success checked
(positive focal inside its bounds, error <= 25 % of the radius).
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

import locgui  # noqa: F401  (zlib before pycolmap)
from locgui.core.metrics import spread_radius

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
SUFFIXES = (".jpg", ".jpeg", ".png")


# ------------------------------------------------------------------------------- reference
def reference(data: Path, cache: Path) -> tuple[dict[str, np.ndarray], float, float, float]:
    """(name -> camera centre, radius, focal of the largest camera, seconds) of pycolmap's
    own reconstruction of ``data`` (cached in ``cache``)."""
    import pycolmap

    out = cache / "reference"
    stamp = out / "seconds.txt"
    if not stamp.is_file():
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        start = time.perf_counter()
        db = out / "database.db"
        extraction = pycolmap.FeatureExtractionOptions()
        extraction.max_image_size = 1600
        extraction.num_threads = 2
        pycolmap.extract_features(
            db, data, camera_mode=pycolmap.CameraMode.AUTO, extraction_options=extraction,
            device=pycolmap.Device.cpu,
        )  # fmt: skip
        pycolmap.match_exhaustive(db)
        options = pycolmap.IncrementalPipelineOptions()
        options.num_threads = 2
        models = pycolmap.incremental_mapping(db, data, out, options)
        best = max(models.values(), key=lambda r: r.num_reg_images())
        (out / "best").mkdir()
        best.write_binary(str(out / "best"))
        stamp.write_text(f"{time.perf_counter() - start:.2f}")
    rec = pycolmap.Reconstruction(str(out / "best"))
    centers = {im.name: np.asarray(im.projection_center()) for im in rec.images.values()
               if im.has_pose}  # fmt: skip
    focal = float(np.mean([c.mean_focal_length() for c in rec.cameras.values()]))
    return centers, spread_radius(np.array(list(centers.values()))), focal, float(stamp.read_text())


def calibrated_reference(cache: Path, k_file: Path) -> dict[str, np.ndarray]:
    """Camera centres of pycolmap's reconstruction from the same SIFT matches with the
    calibrated intrinsics of ``k_file`` held fixed (a second pseudo ground truth)."""
    import pycolmap

    out = cache / "reference_K"
    if not (out / "best").is_dir():
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        shutil.copy(cache / "reference" / "database.db", out / "database.db")
        k = np.loadtxt(k_file)
        with pycolmap.Database.open(str(out / "database.db")) as db:
            for cam in db.read_all_cameras():
                cam.params = [k[0, 0], k[0, 2], k[1, 2], 0.0][: len(cam.params)]
                cam.has_prior_focal_length = True
                db.update_camera(cam)
        options = pycolmap.IncrementalPipelineOptions()
        options.num_threads = 2
        options.ba_refine_focal_length = False
        options.ba_refine_extra_params = False
        options.mapper.abs_pose_refine_focal_length = False
        options.mapper.abs_pose_refine_extra_params = False
        models = pycolmap.incremental_mapping(out / "database.db", k_file.parent, out, options)
        best = max(models.values(), key=lambda r: r.num_reg_images())
        (out / "best").mkdir()
        best.write_binary(str(out / "best"))
    rec = pycolmap.Reconstruction(str(out / "best"))
    return {im.name: np.asarray(im.projection_center()) for im in rec.images.values()
            if im.has_pose}  # fmt: skip


# ------------------------------------------------------------------------------- variants
def photos(data: Path) -> list[Path]:
    return sorted(p for p in data.iterdir() if p.suffix.lower() in SUFFIXES)


def make_variant(kind: str, data: Path, folder: Path) -> dict[str, str]:
    """Write the variant's images into ``folder``; returns file name -> original name (or
    "" for a distractor)."""
    import cv2

    from locgui.io.exif import strip_exif

    folder.mkdir(parents=True)
    origin: dict[str, str] = {}
    for k, src in enumerate(photos(data)):
        name = src.name
        if kind == "noexif":
            (folder / name).write_bytes(strip_exif(src.read_bytes()))
        elif kind == "sizes":  # every photo its own size, no EXIF: one camera each
            img = cv2.imread(str(src))
            h, w = img.shape[:2]
            f = 0.45 + 0.05 * (k % 12)
            name = f"{src.stem}_{round(100 * f)}.jpg"
            small = cv2.resize(img, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA)
            cv2.imwrite(str(folder / name), small, [cv2.IMWRITE_JPEG_QUALITY, 92])
        elif kind == "mixed" and k % 3 in (0, 1):
            img = cv2.imread(str(src))
            h, w = img.shape[:2]
            if k % 3 == 0:
                img = cv2.resize(img, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
            else:
                dy, dx = h // 10, w // 10
                img = img[dy : h - dy, dx : w - dx]
            name = f"{src.stem}_{'half' if k % 3 == 0 else 'crop'}.jpg"
            cv2.imwrite(str(folder / name), img, [cv2.IMWRITE_JPEG_QUALITY, 92])
        else:
            shutil.copy(src, folder / name)
        origin[name] = src.name
    if kind == "distractors":
        for k, img in enumerate(distractor_images(6)):
            name = f"zz_other_{k}.jpg"
            cv2.imwrite(str(folder / name), img[..., ::-1])
            origin[name] = ""
    return origin


def distractor_images(n: int) -> list[np.ndarray]:
    """RGB images of another place: fox photos when present, else synthetic room views."""
    from locgui.io.images import read_image

    fox = SHARED / "fox" / "images"
    if fox.is_dir():
        return [read_image(p) for p in sorted(fox.iterdir())[: 5 * n : 5]]
    from locgui.core.camera import Camera
    from locgui.io.synth import SyntheticRoom
    from locgui.io.synth.trajectories import get_preset, mapping_poses

    room = SyntheticRoom(7)
    camera = Camera.from_fov(640, 480, 60.0)
    return [room.render(camera, pose)[0] for pose in mapping_poses(get_preset("tiny"), 7)[:n]]


# ------------------------------------------------------------------------------- one variant
def evaluate_variant(kind: str, data: Path, work: Path, ref: dict[str, Any], methods: list[str],
                     loo: bool, k_true: float | None,
                     max_side: int = 640) -> dict[str, Any]:  # fmt: skip
    from locgui.io import open_scene
    from locgui.methods.mapping.config import MapBuildConfig
    from locgui.methods.mapping.pipeline import build_map

    folder = work / kind
    origin = make_variant(kind, data, folder)
    cfg = MapBuildConfig(device="cpu", max_side=max_side)
    start = time.perf_counter()
    report = build_map(folder, work / f"{kind}.locmap", cfg)
    seconds = time.perf_counter() - start
    from locgui.io.bundle import open_bundle

    bundle = open_bundle(work / f"{kind}.locmap")
    names = {im.name for im in bundle.scene.images.values()}
    distractors = [n for n, o in origin.items() if not o]
    row: dict[str, Any] = {
        "variant": kind, "photos": len(origin) - len(distractors),
        "registered": sum(1 for n in names if origin.get(n)),
        "distractors_registered": sum(1 for n in names if n in distractors),
        "build_s": round(seconds, 1), "pycolmap_s": ref["seconds"],
        "cameras": report.cameras,
    }  # fmt: skip
    originals = [c for c in report.cameras if c["images"] and c["source"] != "default"]
    if k_true and originals:
        best = max(originals, key=lambda c: c["images"])
        if best["final_focal"]:
            row["focal_error_pct"] = round(100 * (best["final_focal"] / k_true - 1), 2)
    elif k_true and report.cameras:
        full = [c for c in report.cameras if c["final_focal"]]
        # no EXIF: the camera of the full-size originals is the one with most images
        best = max(full, key=lambda c: c["images"])
        row["focal_error_pct"] = round(100 * (best["final_focal"] / k_true - 1), 2)
    row["map_residual_pct"] = map_residual(bundle.scene, origin, ref)
    if ref.get("k_centers"):
        k_ref = {**ref, "centers": ref["k_centers"], "radius": spread_radius(
            np.array(list(ref["k_centers"].values())))}  # fmt: skip
        row["map_residual_k_pct"] = map_residual(bundle.scene, origin, k_ref)
    if distractors:
        row["distractor_queries"] = localize_distractors(bundle, folder, distractors, methods)
    if loo:
        scene = open_scene(folder)
        row["loo"] = leave_one_out(scene, folder, origin, ref, methods, work / f"{kind}-loo", cfg)
    return row


def map_residual(scene: Any, origin: dict[str, str], ref: dict[str, Any]) -> float | None:
    from locgui.core.metrics import umeyama

    pairs = common_centers(scene, origin, ref)
    if len(pairs) < 3:
        return None
    src, dst = (np.array(p) for p in zip(*pairs, strict=True))
    sim = umeyama(src, dst)
    res = np.linalg.norm(sim.apply(src) - dst, axis=1)
    return round(100 * float(np.median(res)) / ref["radius"], 3)


def common_centers(scene: Any, origin: dict[str, str], ref: dict[str, Any]) -> list[tuple]:
    """(map centre, reference centre) of every posed photo the reference has."""
    return [
        (im.cam_from_world.center, ref["centers"][origin[im.name]])
        for im in scene.images.values()
        if im.cam_from_world is not None and origin.get(im.name) in ref["centers"]
    ]


def localize_distractors(bundle: Any, folder: Path, names: list[str], methods: list[str]) -> dict:
    out = {}
    for method in methods:
        localizer = make(bundle, method, bundle.feature_config.get("max_side") != 640)
        ok = sum(localize_file(localizer, folder / n).success for n in names)
        out[method] = f"{ok}/{len(names)} reported success (must be 0)"
    return out


def make(bundle: Any, method: str, map_side: bool = False) -> Any:
    """``method``'s localizer on ``bundle``; with ``map_side`` its queries are shrunk to the
    map's feature size (``max_side=0``) instead of the method's default."""
    from locgui.methods.registry import get_method

    spec = get_method(method)
    config = spec.make_config()
    if map_side and hasattr(config, "max_side"):
        config = spec.make_config(max_side=0)
    return spec.create(bundle, config, "cpu")


def localize_file(localizer: Any, path: Path) -> Any:
    from locgui.core.results import Query
    from locgui.io.images import read_image
    from locgui.runtime.context import RunContext

    return localizer.localize(Query(path.name, read_image(path), path=path), RunContext())


def leave_one_out(scene: Any, folder: Path, origin: dict[str, str], ref: dict[str, Any],
                  methods: list[str], work: Path, cfg: Any) -> dict[str, Any]:  # fmt: skip
    from locgui.core.metrics import umeyama
    from locgui.io.bundle import open_bundle
    from locgui.methods.mapping.config import MapBuildConfig
    from locgui.methods.mapping.pipeline import build_map

    errors: dict[str, list[float]] = {m: [] for m in methods}
    failed: dict[str, list[str]] = {m: [] for m in methods}
    checked = {m: 0 for m in methods}
    bad = {m: 0 for m in methods}
    originals = [im for im in scene.images.values() if origin.get(im.name) in ref["centers"]]
    for held in originals:
        keep = [i for i in scene.images if i != held.image_id]
        out = work / f"{held.image_id}.locmap"
        try:
            build_map(scene.subset(keep), out, cfg)
        except Exception as exc:  # noqa: BLE001 (a benchmark reports and goes on)
            for m in methods:
                failed[m].append(f"{held.name}: map failed ({exc})")
            continue
        bundle = open_bundle(out)
        pairs = common_centers(bundle.scene, origin, ref)
        src, dst = (np.array(p) for p in zip(*pairs, strict=True))
        sim = umeyama(src, dst)
        truth = ref["centers"][origin[held.name]]
        for m in methods:
            full = cfg.max_side != MapBuildConfig().max_side
            result = localize_file(make(bundle, m, full), folder / held.name)
            if not result.success:
                failed[m].append(f"{held.name}: {result.reason[:90]}")
                continue
            err = 100 * float(np.linalg.norm(sim.apply(result.cam_from_world.center[None])[0]
                                              - truth)) / ref["radius"]  # fmt: skip
            errors[m].append(err)
            checked[m] += 1
            f = min(result.camera.focal) if result.camera is not None else 1.0
            side = max(result.camera.width, result.camera.height) if result.camera else 1
            if err > 25.0 or not 0.18 * side <= f <= 12 * side:
                bad[m] += 1
        shutil.rmtree(out, ignore_errors=True)
    summary = {}
    for m in methods:
        e = np.array(errors[m])
        summary[m] = {
            "localized": f"{len(e)}/{len(originals)}",
            "median_pct": round(float(np.median(e)), 3) if len(e) else None,
            "max_pct": round(float(e.max()), 3) if len(e) else None,
            "within_1pct": int(np.sum(e <= 1.0)),
            "checked_successes": checked[m], "bad_successes": bad[m],
            "failures": failed[m],
        }  # fmt: skip
    return summary


# ------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(SHARED / "sceaux"))
    parser.add_argument("--cache", default=str(Path.home() / ".cache" / "locgui" / "bench_real"))
    parser.add_argument("--variants", default="exif,noexif,mixed,sizes,distractors")
    parser.add_argument("--methods", default="sfm,points,rpr")
    parser.add_argument("--no-loo", action="store_true", help="skip leave-one-out")
    parser.add_argument("--loo-variants", default="exif,noexif", help="variants with LOO")
    parser.add_argument("--json", default=None)
    parser.add_argument(
        "--max-side", type=int, default=640,
        help="map images shrunk to this longer side (4096: full size); queries follow the map",
    )  # fmt: skip
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    import torch

    torch.set_num_threads(2)
    data = Path(args.data)
    if not data.is_dir():
        print(f"no data at {data} (see ../shared/data/README.md)", file=sys.stderr)
        return 2
    cache = Path(args.cache) / data.name
    centers, radius, ref_focal, ref_s = reference(data, cache)
    ref = {"centers": centers, "radius": radius, "seconds": ref_s}
    k_file = data / "K.txt"
    k_true = float(k_file.read_text().split()[0]) if k_file.is_file() else None
    if k_file.is_file():
        ref["k_centers"] = calibrated_reference(cache, k_file)
    print(f"reference (pycolmap SIFT 1600 px): {len(centers)}/{len(photos(data))} registered, "
          f"focal {ref_focal:.1f} px, radius {radius:.3f}, {ref_s:.0f} s"
          + (f"; K.txt focal {k_true}" if k_true else ""))  # fmt: skip
    methods = args.methods.split(",")
    rows = []
    with tempfile.TemporaryDirectory(prefix="locgui-bench-real-") as tmp:
        for kind in args.variants.split(","):
            loo = not args.no_loo and kind in args.loo_variants.split(",")
            row = evaluate_variant(kind, data, Path(tmp), ref, methods, loo, k_true, args.max_side)
            rows.append(row)
            print_row(row)
    if args.json:
        Path(args.json).write_text(json.dumps({"reference": {"radius": radius, "focal": ref_focal,
                                   "seconds": ref_s}, "variants": rows}, indent=1))  # fmt: skip
    return 0


def print_row(row: dict[str, Any]) -> None:
    from locgui.cli.map_build import camera_lines

    print(f"\n== {row['variant']}: {row['registered']}/{row['photos']} photos registered, "
          f"map residual {row['map_residual_pct']}% R"
          + (f" ({row['map_residual_k_pct']}% R vs the K.txt-fixed reference)"
             if "map_residual_k_pct" in row else "")
          + f", build {row['build_s']} s "
          f"(pycolmap {row['pycolmap_s']:.0f} s)"
          + (f", focal vs K.txt {row['focal_error_pct']:+.2f}%" if "focal_error_pct" in row
             else ""))  # fmt: skip
    for line in camera_lines(row["cameras"]):
        print(line)
    if "distractors_registered" in row and row.get("distractor_queries"):
        print(f"  distractors registered: {row['distractors_registered']}; as queries: "
              f"{row['distractor_queries']}")  # fmt: skip
    for m, s in row.get("loo", {}).items():
        print(f"  LOO {m:>7}: {s['localized']} localized, median {s['median_pct']}% R, max "
              f"{s['max_pct']}% R, <=1% R: {s['within_1pct']}, successes checked "
              f"{s['checked_successes']} (bad {s['bad_successes']})")  # fmt: skip
        for f in s["failures"]:
            print(f"      failed {f}")


if __name__ == "__main__":
    sys.exit(main())
