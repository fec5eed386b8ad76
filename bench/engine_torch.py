"""PyTorch reference for bench/engine.ts, one scenario per process.

Usage: /usr/bin/python3 bench/engine_torch.py <scenario> [--model resnet50|resnet18|resnet18-small] [--batch 8] [--classes 2]
Scenarios: inference, full, bn-frozen, fc, layer4-fc (see bench/engine.ts for what each trains).
resnet18-small is the demo's source model: ResNet-18 width 16 with tlkit's small-input stem
(3x3 stride-1 conv1, no max pool) on 1x28x28 images.
Driven over stdin/stdout so the benchmark can alternate single steps with the tlkit side (both
then see the same load on a shared machine): prints {"ready": true} once built, then for each
line "step" runs one step and prints {"ms", "loss"}; on "done" prints {"vmhwm_kb"} and exits.
Run it with the tuned malloc settings (engine.ts sets them): default glibc malloc loses most of
a training step to page faults on these machines.
"""
import argparse
import json
import sys
import time

import torch
import torch.nn.functional as F
import torchvision


def peak_rss_kb() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return -1


def resnet18_small(num_classes: int) -> torch.nn.Module:
    """tlkit's resnet18({ width: 16, smallInput: true, inChannels: 1 }) with torchvision's blocks."""
    from torchvision.models.resnet import BasicBlock, ResNet
    model = ResNet(BasicBlock, [2, 2, 2, 2], num_classes=num_classes, width_per_group=64)
    width = 16
    model.inplanes = width
    model.conv1 = torch.nn.Conv2d(1, width, 3, 1, 1, bias=False)
    model.bn1 = torch.nn.BatchNorm2d(width)
    model.maxpool = torch.nn.Identity()
    model.layer1 = model._make_layer(BasicBlock, width, 2)
    model.layer2 = model._make_layer(BasicBlock, width * 2, 2, stride=2)
    model.layer3 = model._make_layer(BasicBlock, width * 4, 2, stride=2)
    model.layer4 = model._make_layer(BasicBlock, width * 8, 2, stride=2)
    model.fc = torch.nn.Linear(width * 8, num_classes)
    return model


def make_step(scenario: str, model: torch.nn.Module):
    """Returns a callable doing one timed unit of work (an inference batch or an optimizer step)."""
    if scenario == "inference":
        model.eval()

        def infer(x, _labels):
            with torch.no_grad():
                return float(model(x)[0, 0])
        return infer

    if scenario == "full":
        model.train()
        trainable = list(model.parameters())
        frozen_body = None
    elif scenario == "bn-frozen":
        model.eval()
        trainable = list(model.parameters())
        frozen_body = None
    elif scenario == "fc":
        model.eval()
        trainable = list(model.fc.parameters())
        frozen_body = torch.nn.Sequential(*list(model.children())[:-1])  # up to avgpool
    elif scenario == "layer4-fc":
        model.eval()
        trainable = list(model.layer4.parameters()) + list(model.fc.parameters())
        frozen_body = torch.nn.Sequential(model.conv1, model.bn1, model.relu, model.maxpool, model.layer1, model.layer2, model.layer3)
    else:
        raise SystemExit(f"unknown scenario {scenario}")
    for p in model.parameters():
        p.requires_grad_(False)
    for p in trainable:
        p.requires_grad_(True)
    optimizer = torch.optim.SGD(trainable, lr=1e-3, momentum=0.9, weight_decay=1e-4)

    def train(x, labels):
        optimizer.zero_grad(set_to_none=True)
        if scenario == "fc":
            with torch.no_grad():
                features = torch.flatten(frozen_body(x), 1)
            logits = model.fc(features)
        elif scenario == "layer4-fc":
            with torch.no_grad():
                features = frozen_body(x)
            logits = model.fc(torch.flatten(model.avgpool(model.layer4(features)), 1))
        else:
            logits = model(x)
        loss = F.cross_entropy(logits, labels)
        loss.backward()
        optimizer.step()
        return float(loss)
    return train


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario")
    parser.add_argument("--model", default="resnet50", choices=["resnet50", "resnet18", "resnet18-small"])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--classes", type=int, default=2)
    args = parser.parse_args()

    torch.set_num_threads(2)
    torch.manual_seed(0)
    if args.model == "resnet18-small":
        model = resnet18_small(args.classes)
        x = torch.rand(args.batch, 1, 28, 28)
    else:
        model = getattr(torchvision.models, args.model)(num_classes=args.classes)
        x = torch.rand(args.batch, 3, 224, 224)
    labels = torch.arange(args.batch) % args.classes
    step = make_step(args.scenario, model)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "step":
            start = time.perf_counter()
            loss = step(x, labels)
            print(json.dumps({"ms": (time.perf_counter() - start) * 1000, "loss": loss}), flush=True)
        elif command == "done":
            break
        else:
            raise SystemExit(f"unknown command {command!r}")
    print(json.dumps({"vmhwm_kb": peak_rss_kb()}), flush=True)


if __name__ == "__main__":
    main()
