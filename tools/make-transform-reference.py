"""Writes fixtures/data/: a generated test image (PNG and JPEG) and torchvision/PIL outputs for
test/data-transforms.test.ts. Run with Debian's python3-torchvision:

    /usr/bin/python3 tools/make-transform-reference.py

The outputs are uint8 HWC (before ToTensor/Normalize), so the test can normalize them itself.
"""
import json
import os

import numpy as np
import torchvision
import torchvision.transforms as T
import torchvision.transforms.functional as F
from PIL import Image

OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures", "data")


def make_image() -> Image.Image:
    rng = np.random.default_rng(7)
    h, w = 200, 300
    y, x = np.mgrid[0:h, 0:w]
    r = (x * 255 / w)
    g = 128 + 90 * np.sin(x / 9.0) * np.cos(y / 13.0)
    b = (y * 255 / h)
    img = np.stack([r, g, b], axis=-1) + rng.normal(0, 12, (h, w, 3))
    img[60:120, 80:200] = [220, 40, 60]  # a flat block with sharp edges
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    image = make_image()
    image.save(os.path.join(OUT, "transform-input.png"))
    image.save(os.path.join(OUT, "transform-input.jpg"), quality=92)
    cases = {}
    for ext in ("png", "jpg"):
        img = Image.open(os.path.join(OUT, f"transform-input.{ext}")).convert("RGB")
        outputs = {
            # The tutorial's eval transforms at a smaller size: Resize(size + 32) then CenterCrop(size).
            "eval": T.Compose([T.Resize(144), T.CenterCrop(112)])(img),
            # RandomResizedCrop's crop + resize with fixed parameters (a shrinking crop).
            "resized_crop": F.resized_crop(img, 20, 30, 150, 200, [112, 112], T.InterpolationMode.BILINEAR),
            # Enlarging both axes (a small crop, as RandomResizedCrop often takes) and one axis only.
            "resized_crop_up": F.resized_crop(img, 40, 60, 50, 70, [112, 112], T.InterpolationMode.BILINEAR),
            "resized_crop_mixed": F.resized_crop(img, 10, 20, 60, 180, [112, 112], T.InterpolationMode.BILINEAR),
            # timm's eval interpolation (pretrained_cfg 'bicubic'): shrinking (200 -> 144) and enlarging (200 -> 256).
            "eval_bicubic": T.Compose([T.Resize(144, T.InterpolationMode.BICUBIC), T.CenterCrop(112)])(img),
            "eval_bicubic_up": T.Compose([T.Resize(256, T.InterpolationMode.BICUBIC), T.CenterCrop(224)])(img),
        }
        for name, out in outputs.items():
            arr = np.asarray(out, dtype=np.uint8)
            file = f"reference-{ext}-{name}.bin"
            arr.tofile(os.path.join(OUT, file))
            cases[f"{ext}-{name}"] = {"file": file, "shape_hwc": list(arr.shape)}
    meta = {"torchvision": torchvision.__version__, "pillow": Image.__version__, "cases": cases}
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump(meta, f, indent=2)


if __name__ == "__main__":
    main()
