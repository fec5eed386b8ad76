"""PyTorch/torchvision equivalent of `tlkit train --mode fixed-feature` (the tutorial's section 3.3).

Usage: /usr/bin/python3 bench/tutorial_torch.py <data-dir> [--epochs 1] [--batch-size 18] [--no-augment] [--workers 2]

ResNet50 (random weights), every parameter frozen except a new fc (2048 -> classes), backbone BN
in inference mode (as tlkit's default), SGD momentum 0.5, lr 0.001, softmax cross-entropy. Train
transforms: RandomResizedCrop(224, scale 0.08-1, ratio 0.75-1.333), horizontal flip, normalize;
val (and, with --no-augment, train): Resize(256), CenterCrop(224), normalize. Prints the tutorial's
log lines, then one JSON line {"epoch_ms": [...], "total_ms": ...}. bench/tutorial.ts runs it with
2 threads and the tuned malloc settings.
"""
import argparse
import json
import time

import torch
import torch.nn.functional as F
import torchvision
from torchvision import transforms as T


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=18)
    parser.add_argument("--no-augment", action="store_true")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    started = time.perf_counter()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    normalize = T.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])
    eval_tf = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(), normalize])
    train_tf = eval_tf if args.no_augment else T.Compose([
        T.RandomResizedCrop(224, scale=(0.08, 1.0), ratio=(0.75, 1.333)), T.RandomHorizontalFlip(), T.ToTensor(), normalize])
    train_set = torchvision.datasets.ImageFolder(f"{args.data}/train", train_tf)
    val_set = torchvision.datasets.ImageFolder(f"{args.data}/val", eval_tf)
    train_loader = torch.utils.data.DataLoader(train_set, batch_size=args.batch_size, shuffle=True, num_workers=args.workers)
    val_loader = torch.utils.data.DataLoader(val_set, batch_size=args.batch_size, shuffle=False, num_workers=args.workers)

    model = torchvision.models.resnet50()
    for p in model.parameters():
        p.requires_grad = False
    model.fc = torch.nn.Linear(model.fc.in_features, len(train_set.classes))
    optimizer = torch.optim.SGD(model.fc.parameters(), lr=0.001, momentum=0.5)

    epoch_ms = []
    best = 0.0
    print("Start Training Loop ...")
    for epoch in range(args.epochs):
        model.eval()  # frozen backbone: BN uses its moving statistics
        epoch_start = time.perf_counter()
        losses = []
        for images, labels in train_loader:
            loss = F.cross_entropy(model(images), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(float(loss))
        correct = 0
        with torch.no_grad():
            for images, labels in val_loader:
                correct += int((model(images).argmax(1) == labels).sum())
        acc = correct / len(val_set)
        ms = (time.perf_counter() - epoch_start) * 1000
        epoch_ms.append(ms)
        best = max(best, acc)
        print("-" * 20)
        print("Epoch: [%3d/%3d], Average Train Loss: [%5.3f], Accuracy: [%5.3f]" % (epoch + 1, args.epochs, sum(losses) / len(losses), acc))
        print("epoch time: %5.3f ms, per step time: %5.3f ms" % (ms, ms / len(train_loader)), flush=True)
    print("=" * 80)
    print(json.dumps({"epoch_ms": epoch_ms, "total_ms": (time.perf_counter() - started) * 1000}), flush=True)


if __name__ == "__main__":
    main()
