"""PyTorch side of bench/startup.ts: what a PyTorch user runs to classify one image.

Usage: /usr/bin/python3 bench/startup_torch.py weights.pth image.jpg
Whole process timed by the caller: imports, building resnet50, loading the state dict, the
torchvision eval transforms (resize 256, centre crop 224, normalize) and one forward pass.
With --write-weights OUT.pth OUT.safetensors it instead writes seeded resnet50 weights in both
formats (the tlkit side reads the safetensors file, torchvision names).
"""
import json
import struct
import sys

import torch
import torchvision


def write_weights(pth: str, safetensors: str) -> None:
    torch.manual_seed(0)
    state = torchvision.models.resnet50().state_dict()
    torch.save(state, pth)
    header, blobs, offset = {}, [], 0
    for name, tensor in state.items():
        if tensor.dtype != torch.float32:
            continue  # num_batches_tracked (int64) is not a weight
        data = tensor.contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensor.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    encoded = json.dumps(header).encode()
    encoded += b" " * ((8 - len(encoded) % 8) % 8)
    with open(safetensors, "wb") as out:
        out.write(struct.pack("<Q", len(encoded)))
        out.write(encoded)
        for blob in blobs:
            out.write(blob)


def predict(pth: str, image: str) -> None:
    from PIL import Image
    from torchvision import transforms
    torch.set_num_threads(2)
    model = torchvision.models.resnet50()
    model.load_state_dict(torch.load(pth))
    model.eval()
    preprocess = transforms.Compose([
        transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
        transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    ])
    x = preprocess(Image.open(image).convert("RGB")).unsqueeze(0)
    with torch.no_grad():
        logits = model(x)
    print(json.dumps({"label": int(logits.argmax(1)), "logit": float(logits.max())}))


if __name__ == "__main__":
    if sys.argv[1] == "--write-weights":
        write_weights(sys.argv[2], sys.argv[3])
    else:
        predict(sys.argv[1], sys.argv[2])
