"""torchvision reference for bench/loader.ts: ImageFolder + the tutorial's training transforms.

Usage: /usr/bin/python3 bench/loader_torch.py <image-folder> [--epochs N] [--batch-size 18]
Prints one JSON line per worker setting: {"workers", "images", "seconds", "img_per_s", "cpu_ms_per_img"}
(CPU time only for num_workers=0, where all the work is in this process).
"""
import argparse
import json
import time

import torch
from torch.utils.data import DataLoader
from torchvision import datasets, transforms


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("root")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=18)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    args = parser.parse_args()

    torch.set_num_threads(1)
    tf = transforms.Compose([
        transforms.RandomResizedCrop(224, scale=(0.08, 1.0), ratio=(0.75, 1.333)),
        transforms.RandomHorizontalFlip(0.5),
        transforms.ToTensor(),
        transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
    ])
    dataset = datasets.ImageFolder(args.root, transform=tf)
    for workers in args.workers:
        loader = DataLoader(dataset, batch_size=args.batch_size, shuffle=True, num_workers=workers,
                            persistent_workers=workers > 0)
        for _ in loader:  # warm-up epoch: worker start-up and file cache
            pass
        count = 0
        cpu_start = time.process_time()
        start = time.perf_counter()
        for _ in range(args.epochs):
            for images, _labels in loader:
                count += images.shape[0]
        seconds = time.perf_counter() - start
        # With workers the decoding happens in other processes, so this process's CPU time says nothing.
        cpu_ms = (time.process_time() - cpu_start) * 1000 / count if workers == 0 else None
        print(json.dumps({"workers": workers, "images": count, "seconds": seconds, "img_per_s": count / seconds,
                          "cpu_ms_per_img": cpu_ms}), flush=True)


if __name__ == "__main__":
    main()
