#!/usr/bin/env python3
"""Decode + augment throughput: frugal's image-folder loader against PyTorch's DataLoader with
torchvision transforms on PIL images, on the same generated folder of ImageNet-sized JPEGs.

  /usr/bin/python3 scripts/bench/decode_bench.py --frugal build/frugal [--dir /tmp/frugal_decode_bench]
      [--images 512] [--workers 1,2] [--batch 32] [--image-size 224] [--repeats 2] [--markdown OUT.md]

The folder (made once, deterministic): --images JPEGs in 4 classes under train/, 500x375 (every fourth
375x500), quality 90, smooth shapes and gradients with a little noise so that they compress like photos
(~80-90 KB); plus 16 images under val/.
Pipelines, each at every worker count:
  train: RandomResizedCrop(image_size, scale 0.08-1, ratio 3/4-4/3) + RandomHorizontalFlip + ToTensor +
         Normalize; frugal: data.augment.random_resized_crop + horizontal_flip + normalize.
  eval:  Resize(image_size * 8 / 7) + CenterCrop(image_size) + ToTensor + Normalize; frugal's test split.
frugal runs `frugal data bench` (data.workers threads fill each batch, a prefetch thread works ahead);
PyTorch runs DataLoader(num_workers=W, batch, shuffle for train) in this process with
torch.set_num_threads(1). Both skip the first batch and time the rest of one pass; the best of
--repeats passes is kept. images/s per worker is the per-core figure the issue asks about.
--check compares frugal's first evaluation batch with torchvision's on the same files (max |difference|
in 8-bit levels): the geometry is the same, the resampling is float here and fixed-point in PIL.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
CLASSES = 4


def make_folder(root, images):
    import numpy as np
    from PIL import Image
    marker = os.path.join(root, f".complete-{images}")
    if os.path.exists(marker):
        return
    rng = np.random.default_rng(0)
    for split, count in (("train", images), ("val", 16)):
        for i in range(count):
            cls = i % CLASSES
            w, h = (375, 500) if i % 4 == 3 else (500, 375)
            y, x = np.mgrid[0:h, 0:w].astype(np.float32)
            img = np.zeros((h, w, 3), np.float32)
            for c in range(3):
                a, b, p = rng.uniform(-1, 1, 3)
                img[..., c] = 128 + 60 * np.sin(a * x / 40 + b * y / 55 + p * 6)
            for _ in range(6):  # soft-edged blobs
                cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(20, 120)
                mask = np.clip(1.2 - np.hypot(x - cx, y - cy) / r, 0, 1)[..., None]
                img = img * (1 - mask) + mask * rng.uniform(0, 255, 3)
            img += rng.normal(0, 16, img.shape)
            out = os.path.join(root, split, f"class{cls}")
            os.makedirs(out, exist_ok=True)
            Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(
                os.path.join(out, f"img{i:05d}.JPEG"), quality=90)
    open(marker, "w").close()


def eval_view(root):
    """A folder whose val/ is the big train/ folder, so the evaluation pipeline is timed on as many images."""
    view = root.rstrip("/") + "-eval"
    os.makedirs(view, exist_ok=True)
    for name in ("train", "val"):
        link = os.path.join(view, name)
        if not os.path.islink(link):
            os.symlink(os.path.join(os.path.abspath(root), "train"), link)
    return view


def frugal_config(root, batch, image_size, workers):
    return {
        "name": "decode_bench", "threads": 1,
        "data": {"dataset": "image_folder", "path": root, "image_size": image_size, "batch_size": batch,
                 "test_batch_size": batch, "workers": workers, "prefetch": 1,
                 "augment": {"random_resized_crop": True, "horizontal_flip": True},
                 "normalize": {"mean": MEAN, "std": STD}},
        "model": {"arch": "resnet18", "cifar_stem": False},
    }


def run_frugal(binary, root, split, batch, image_size, workers, dump=None):
    with tempfile.TemporaryDirectory() as tmp:
        cfg = os.path.join(tmp, "config.json")
        with open(cfg, "w") as f:
            json.dump(frugal_config(root, batch, image_size, workers), f)
        out = os.path.join(tmp, "out.json")
        cmd = [binary, "data", "bench", "--config", cfg, "--split", split, "--json", out]
        if dump:
            cmd += ["--dump", dump]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        with open(out) as f:
            return json.load(f)["images_per_second"]


def torch_transforms(split, image_size):
    import torchvision.transforms as T
    tail = [T.ToTensor(), T.Normalize(MEAN, STD)]
    if split == "train":
        return T.Compose([T.RandomResizedCrop(image_size), T.RandomHorizontalFlip()] + tail)
    return T.Compose([T.Resize(image_size * 8 // 7), T.CenterCrop(image_size)] + tail)


def run_torch(root, split, batch, image_size, workers):
    import torch
    import torchvision
    torch.set_num_threads(1)
    data = torchvision.datasets.ImageFolder(os.path.join(root, "train" if split == "train" else "val"),
                                            transform=torch_transforms(split, image_size))
    data.samples = data.samples[: len(data.samples) // batch * batch]  # whole batches, as frugal's drop_last
    loader = torch.utils.data.DataLoader(data, batch_size=batch, shuffle=split == "train",
                                         num_workers=workers, drop_last=split == "train")
    it = iter(loader)
    next(it)  # the first batch also starts the workers
    start, images = time.perf_counter(), 0
    for images_batch, _ in it:
        images += images_batch.shape[0]
    return images / (time.perf_counter() - start)


def check_eval(binary, root, image_size):
    import numpy as np
    import torch
    import torchvision
    with tempfile.TemporaryDirectory() as tmp:
        dump = os.path.join(tmp, "batch.safetensors")
        run_frugal(binary, root, "test", 8, image_size, 1, dump=dump)
        with open(dump, "rb") as f:
            n = int.from_bytes(f.read(8), "little")
            header = json.loads(f.read(n))
            payload = f.read()
        meta = header["images"]
        begin, end = meta["data_offsets"]
        ours = np.frombuffer(payload[begin:end], dtype=np.float32).reshape(meta["shape"])
    data = torchvision.datasets.ImageFolder(os.path.join(root, "val"), transform=torch_transforms("test", image_size))
    theirs = torch.stack([data[i][0] for i in range(ours.shape[0])]).numpy()
    std = np.array(STD, np.float32).reshape(1, 3, 1, 1)
    diff = np.abs(ours - theirs) * std * 255  # back to 8-bit levels
    return float(diff.max()), float(diff.mean())


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--frugal", required=True)
    p.add_argument("--dir", default=os.path.join(tempfile.gettempdir(), "frugal_decode_bench"))
    p.add_argument("--images", type=int, default=512)
    p.add_argument("--workers", default="1,2")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--image-size", type=int, default=224)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--check", action="store_true")
    p.add_argument("--markdown")
    args = p.parse_args()
    make_folder(args.dir, args.images)
    rows = []
    for split in ("train", "eval"):
        root = args.dir if split == "train" else eval_view(args.dir)
        for w in [int(v) for v in args.workers.split(",")]:
            fr = max(run_frugal(args.frugal, root, "train" if split == "train" else "test", args.batch,
                                args.image_size, w) for _ in range(args.repeats))
            pt = max(run_torch(root, split, args.batch, args.image_size, w) for _ in range(args.repeats))
            rows.append((split, w, fr, pt))
            print(f"{split} workers={w}: frugal {fr:.0f} img/s, PyTorch+PIL {pt:.0f} img/s", file=sys.stderr)
    lines = ["| pipeline | workers | frugal img/s | PyTorch+PIL img/s | frugal / PyTorch | frugal per worker | PyTorch per worker |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for split, w, fr, pt in rows:
        name = "train: RandomResizedCrop + flip" if split == "train" else "eval: Resize + CenterCrop"
        lines.append(f"| {name} | {w} | {fr:.0f} | {pt:.0f} | {fr / pt:.2f} | {fr / w:.0f} | {pt / w:.0f} |")
    table = "\n".join(lines)
    print(table)
    if args.check:
        mx, mean = check_eval(args.frugal, args.dir, args.image_size)
        print(f"\neval batch against torchvision: max |difference| {mx:.2f} levels, mean {mean:.3f} levels")
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(table + "\n")


if __name__ == "__main__":
    main()
