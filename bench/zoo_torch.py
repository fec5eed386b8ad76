"""PyTorch side of bench/zoo.ts: one torchvision model, inference or a full fine-tune step (BN in training mode).

Usage: /usr/bin/python3 bench/zoo_torch.py <inference|full> <torchvision model name> [--batch 8] [--size 224] [--classes 2]
Speaks bench/engine_torch.py's protocol: {"ready": true}, then one {"ms", "loss"} line per "step", {"vmhwm_kb"} on "done".
"""
import argparse
import json
import sys
import time

import torch
import torch.nn.functional as F
import torchvision


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", choices=["inference", "full"])
    parser.add_argument("model")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--classes", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(0)
    model = getattr(torchvision.models, args.model)(num_classes=args.classes)
    x = torch.rand(args.batch, 3, args.size, args.size)
    labels = torch.arange(args.batch) % args.classes
    if args.scenario == "inference":
        model.eval()

        def step():
            with torch.no_grad():
                return float(model(x)[0, 0])
    else:
        model.train()
        optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, weight_decay=1e-4)

        def step():
            optimizer.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x), labels)
            loss.backward()
            optimizer.step()
            return float(loss)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "step":
            start = time.perf_counter()
            loss = step()
            print(json.dumps({"ms": (time.perf_counter() - start) * 1000, "loss": loss}), flush=True)
        elif command == "done":
            break
    with open("/proc/self/status") as status:
        peak = next((int(l.split()[1]) for l in status if l.startswith("VmHWM:")), -1)
    print(json.dumps({"vmhwm_kb": peak}), flush=True)


if __name__ == "__main__":
    main()
