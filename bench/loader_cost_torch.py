"""PIL/torchvision side of bench/loader-cost.ts: CPU ms per image of each stage, one process, no workers.

Usage: /usr/bin/python3 bench/loader_cost_torch.py <image-folder> <tiny.jpg>
Prints one JSON object: {"decode", "decode_crop_resize", "full", "tiny_decode"} (CPU ms per image).
"""
import io
import json
import os
import sys
import time

import torch
from PIL import Image
from torchvision import transforms


def per_image(fn, items):
    start = time.process_time()
    for item in items:
        fn(item)
    return (time.process_time() - start) * 1000 / len(items)


def main() -> None:
    root, tiny = sys.argv[1], sys.argv[2]
    torch.set_num_threads(1)
    files = [os.path.join(root, c, f) for c in sorted(os.listdir(root)) for f in sorted(os.listdir(os.path.join(root, c)))]
    data = [open(f, "rb").read() for f in files]
    tiny_data = [open(tiny, "rb").read()] * 500
    crop = transforms.RandomResizedCrop(224, scale=(0.08, 1.0), ratio=(0.75, 1.333))
    full = transforms.Compose([
        crop,
        transforms.RandomHorizontalFlip(0.5),
        transforms.ToTensor(),
        transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
    ])

    def decode(b):
        return Image.open(io.BytesIO(b)).convert("RGB")

    def from_file(f):
        with open(f, "rb") as handle:
            return full(Image.open(handle).convert("RGB"))

    per_image(decode, data)  # warm-up: page cache, imports
    print(json.dumps({
        "decode": per_image(decode, data),
        "decode_crop_resize": per_image(lambda b: crop(decode(b)), data),
        "full": per_image(from_file, files),
        "tiny_decode": per_image(decode, tiny_data),
    }), flush=True)


if __name__ == "__main__":
    main()
