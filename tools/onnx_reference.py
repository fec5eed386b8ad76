#!/usr/bin/python3
"""Writes ONNX files with torch.onnx.export from torchvision models, plus PyTorch's values for them,
for tlkit's ONNX import tests (test/onnx-import-torch.test.ts runs this when Debian's torch is present).

  /usr/bin/python3 tools/onnx_reference.py OUT_DIR

OUT_DIR receives:
  resnet18.onnx           torchvision resnet18 (5 classes, seeded random init, BN statistics perturbed),
                          exported in eval mode at a static batch of 1 (torch folds BN into the convs)
  resnet18.safetensors    the same network's state_dict (unfolded: BN kept), torchvision names
  resnet18_folded.onnx    the BN-folded network (fuse_conv_bn_eval) exported as is, parameter names kept
  resnet18_train.onnx     the unfolded network exported in training mode (BatchNormalization nodes kept,
                          torchvision names); train_loss.npy, train_grad_<i>.npy: a train-mode step (batch statistics)
  mobilenet_v2.onnx       torchvision mobilenet_v2 (depthwise convs, ReLU6 as Clip), eval mode
  input.npy, labels.npy   a batch of 3 images [3, 3, 64, 64] and their labels
  <model>_logits.npy, <model>_features.npy   eval-mode logits and penultimate activations (pooled, flattened)
  folded_loss.npy, grad_<i>.npy              cross-entropy (mean) of the folded network on the batch and the
                                             gradient of every parameter (order and names in reference.json)
  reference.json          names, shapes and file names
"""
import copy
import json
import os
import struct
import sys

import numpy as np
import torch
import torchvision
from torch.nn.utils.fusion import fuse_conv_bn_eval

SIZE = 64
CLASSES = 5


def save_safetensors(path, tensors):
    header = {}
    offset = 0
    blobs = []
    for name, t in tensors.items():
        data = t.detach().cpu().contiguous().numpy().astype(np.float32).tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * ((8 - len(raw) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)


def perturb_bn(model, generator):
    """Fresh BN has mean 0 / var 1 (folding would be trivial); give every BN non-trivial statistics."""
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=generator) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=generator) * 0.5 + 0.75)
            m.weight.data.copy_(torch.rand(m.num_features, generator=generator) * 0.5 + 0.75)
            m.bias.data.copy_(torch.randn(m.num_features, generator=generator) * 0.1)


def fold_resnet(model):
    """Each conv absorbs the BN after it (torchvision's own fusion helper); BN becomes Identity."""
    def fold(parent, conv_name, bn_name):
        setattr(parent, conv_name, fuse_conv_bn_eval(getattr(parent, conv_name), getattr(parent, bn_name)))
        setattr(parent, bn_name, torch.nn.Identity())
    fold(model, "conv1", "bn1")
    for layer in [model.layer1, model.layer2, model.layer3, model.layer4]:
        for block in layer:
            fold(block, "conv1", "bn1")
            fold(block, "conv2", "bn2")
            if block.downsample is not None:
                block.downsample[0] = fuse_conv_bn_eval(block.downsample[0], block.downsample[1])
                block.downsample[1] = torch.nn.Identity()
    return model


def penultimate(model, x):
    if isinstance(model, torchvision.models.ResNet):
        m = model
        y = m.maxpool(m.relu(m.bn1(m.conv1(x))))
        y = m.layer4(m.layer3(m.layer2(m.layer1(y))))
        return torch.flatten(m.avgpool(y), 1)
    y = model.features(x)
    return torch.flatten(torch.nn.functional.adaptive_avg_pool2d(y, (1, 1)), 1)


def export(model, path):
    model.eval()
    torch.onnx.export(model, torch.zeros(1, 3, SIZE, SIZE), path, opset_version=13, input_names=["image"], output_names=["logits"])


def main(out):
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(3, 3, SIZE, SIZE, generator=generator)
    labels = torch.tensor([0, 3, 1])
    np.save(os.path.join(out, "input.npy"), x.numpy().astype(np.float32))
    np.save(os.path.join(out, "labels.npy"), labels.numpy().astype(np.int64))
    reference = {"input": "input.npy", "size": SIZE, "classes": CLASSES, "models": {}}

    resnet = torchvision.models.resnet18(num_classes=CLASSES)
    perturb_bn(resnet, generator)
    resnet.eval()
    mobilenet = torchvision.models.mobilenet_v2(num_classes=CLASSES)
    perturb_bn(mobilenet, generator)
    mobilenet.eval()
    for name, model in [("resnet18", resnet), ("mobilenet_v2", mobilenet)]:
        with torch.no_grad():
            np.save(os.path.join(out, f"{name}_logits.npy"), model(x).numpy())
            np.save(os.path.join(out, f"{name}_features.npy"), penultimate(model, x).numpy())
        export(model, os.path.join(out, f"{name}.onnx"))
        reference["models"][name] = {"onnx": f"{name}.onnx", "logits": f"{name}_logits.npy", "features": f"{name}_features.npy"}
    save_safetensors(os.path.join(out, "resnet18.safetensors"),
                     {k: v for k, v in resnet.state_dict().items() if not k.endswith("num_batches_tracked")})

    folded = fold_resnet(copy.deepcopy(resnet).eval())
    export(folded, os.path.join(out, "resnet18_folded.onnx"))
    folded.train()  # no BN and no dropout left: train mode changes nothing but the autograd bookkeeping
    folded.zero_grad()
    # float64 reference, from the float32 weights
    folded64 = folded.double()
    loss = torch.nn.functional.cross_entropy(folded64(x.double()), labels)
    loss.backward()
    np.save(os.path.join(out, "folded_loss.npy"), np.array([loss.item()]))
    grads = []
    for i, (name, p) in enumerate(folded64.named_parameters()):
        np.save(os.path.join(out, f"grad_{i}.npy"), p.grad.numpy().astype(np.float64))
        grads.append({"name": name, "shape": list(p.shape), "file": f"grad_{i}.npy"})
    reference["folded"] = {"onnx": "resnet18_folded.onnx", "loss": "folded_loss.npy", "grads": grads}

    # Exporting in training mode runs a train-mode forward, which moves BN's running statistics: export a copy.
    torch.onnx.export(copy.deepcopy(resnet).train(), torch.zeros(1, 3, SIZE, SIZE), os.path.join(out, "resnet18_train.onnx"), opset_version=13,
                      training=torch.onnx.TrainingMode.TRAINING, do_constant_folding=False, input_names=["image"], output_names=["logits"])
    trained64 = copy.deepcopy(resnet).double().train()
    loss = torch.nn.functional.cross_entropy(trained64(x.double()), labels)
    loss.backward()
    np.save(os.path.join(out, "train_loss.npy"), np.array([loss.item()]))
    grads = []
    for i, (name, p) in enumerate(trained64.named_parameters()):
        np.save(os.path.join(out, f"train_grad_{i}.npy"), p.grad.numpy().astype(np.float64))
        grads.append({"name": name, "shape": list(p.shape), "file": f"train_grad_{i}.npy"})
    reference["train"] = {"onnx": "resnet18_train.onnx", "loss": "train_loss.npy", "grads": grads}
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump(reference, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "onnx-reference")
