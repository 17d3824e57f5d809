"""Predict images or whole folders: writes overlays and label masks (or detected instances).

For every input image, OUT/overlays/<name>.png shows the prediction blended over the image.
With a segmentation config the overlay has the model's palette, a title and a colour legend
(--with-labels also names the regions), and OUT/masks/<name>.png holds the class ids (uint8).
With a detection config (MMDetection's Mask R-CNN, Faster R-CNN) the overlay shows each
instance scoring at least --score-thr with its mask, box, class name and score;
OUT/instances/<name>.json lists those instances (id, label, class, score, bbox as x1, y1, x2,
y2 in image pixels, and area for masks), and for Mask R-CNN OUT/instances/<name>.png holds
their ids (uint16, 0: no instance, the better score where masks overlap; read it with
cv2.IMREAD_UNCHANGED).

Folders are searched for .png, .jpg, .jpeg, .bmp and .tif images; images of different sizes
may be mixed (each forward pass batches images of one size). A checkpoint that lacks weights
of the model, or has them in another shape, is refused unless --allow-partial is given.
"""

from __future__ import annotations

import argparse
from pathlib import Path

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="config file")
    parser.add_argument("checkpoint", help="checkpoint file")
    parser.add_argument("inputs", nargs="+", help="image files or folders")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--opacity", type=float, default=0.5, help="mask weight in overlays")
    parser.add_argument(
        "--with-labels", action="store_true", help="write class names on the overlays' regions"
    )
    parser.add_argument(
        "--score-thr",
        type=float,
        default=0.3,
        help="detection configs: lowest score of an instance drawn and written (default 0.3)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=4,
        help="images per forward pass (at most; only images of one size go together)",
    )
    parser.add_argument(
        "--trust-checkpoint",
        action="store_true",
        help="allow checkpoints that pickle Python objects (runs code from the file)",
    )
    parser.add_argument(
        "--allow-partial",
        action="store_true",
        help="predict even when the checkpoint lacks model weights or has them in another "
        "shape (those keep their initial values; refused by default)",
    )


def collect_images(inputs: list[str]) -> list[Path]:
    """Files as given, folders expanded (sorted); an empty result is a user error."""
    from segwright.utils.errors import ConfigError

    found: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES))
        elif path.is_file():
            found.append(path)
        else:
            raise ConfigError(f"Input {path} does not exist.")
    if not found:
        raise ConfigError(f"No images ({', '.join(IMAGE_SUFFIXES)}) found in {', '.join(inputs)}.")
    return found


def run(args: argparse.Namespace) -> int:
    import cv2
    from rich.progress import Progress

    from segwright.apis import show_result
    from segwright.apis.inference import instance_records, iter_inference
    from segwright.cli.model_input import init_model_for_command
    from segwright.utils.errors import ConfigError

    if args.batch_size < 1:
        raise ConfigError(f"--batch-size must be at least 1, got {args.batch_size}.")
    images = collect_images(args.inputs)
    model = init_model_for_command(
        args.config, args.checkpoint, args.device, args.trust_checkpoint, args.allow_partial
    )
    out = Path(args.out)
    (out / "overlays").mkdir(parents=True, exist_ok=True)
    classes = (getattr(model, "dataset_meta", None) or {}).get("classes")
    detections = 0
    with Progress(transient=True) as progress:
        task = progress.add_task("infer", total=len(images))
        for index, result in iter_inference(model, [str(p) for p in images], args.batch_size):
            path = images[index]
            overlay = out / "overlays" / f"{path.stem}.png"
            if getattr(result, "pred_instances", None) is not None:
                detections += 1
                records, id_map = instance_records(result, classes, args.score_thr)
                (out / "instances").mkdir(exist_ok=True)
                (out / "instances" / f"{path.stem}.json").write_text(_json(path, records))
                if id_map is not None:
                    cv2.imwrite(str(out / "instances" / f"{path.stem}.png"), id_map)
                show_result(
                    path, result, args.opacity, overlay, model=model, score_thr=args.score_thr
                )
            else:
                mask = result.pred_sem_seg.data.squeeze(0).cpu().numpy().astype("uint8")
                (out / "masks").mkdir(exist_ok=True)
                cv2.imwrite(str(out / "masks" / f"{path.stem}.png"), mask)
                show_result(
                    path, result, args.opacity, overlay, with_labels=args.with_labels, model=model
                )
            progress.advance(task)
    written = "overlays and instance files" if detections else "overlays and masks"
    print(f"Wrote {len(images)} {written} to {out}.")
    return 0


def _json(image: Path, records: list[dict]) -> str:
    """``{"image": ..., "instances": [...]}`` with one instance per line."""
    import json

    rows = ",\n".join(f"  {json.dumps(record)}" for record in records)
    body = f"[\n{rows}\n]" if records else "[]"
    return f'{{"image": {json.dumps(str(image))}, "instances": {body}}}\n'
