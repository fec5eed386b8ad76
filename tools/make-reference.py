#!/usr/bin/python3
"""Writes PyTorch reference values for tlkit's numerical parity tests (fixtures/parity/).

No weights are committed: every parameter, BN buffer and input is generated from an integer
hash that TypeScript reproduces bit for bit (test/helpers/parity.ts), so the fixtures hold only
the per-tensor constants of the formula and the values PyTorch computed from them:

  u(i, seed) = ((hash32(i, seed) >> 8) - 2**23) / 2**23      exact in float32, in [-1, 1)
  value[i]   = float32(offset + scale * u(i, seed))           computed in float64, rounded once

No transcendental function is involved, so Python and V8 cannot disagree by an ulp.
The reference runs in float64 (from the float32-exact values), so the tests measure tlkit's
float32 error against the exact result; torch's own float32 deviation is recorded beside it.

Run with Debian's /usr/bin/python3 (python3-torch, python3-torchvision):

  /usr/bin/python3 tools/make-reference.py [OUT_DIR]      (default fixtures/parity)
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
import torchvision

MASK = 0xFFFFFFFF
SAMPLES_PER_TENSOR = 8
NUM_CLASSES = 5
IMAGE_SHAPE = (2, 3, 64, 64)
LABELS = [3, 1]
LEARNING_RATE = 0.1
MOMENTUM = 0.9
INPUT_SEED = 1_000_003


def hash32(index, seed):
    """lowbias32 of (index * golden + seed * 0x85EBCA77), all mod 2**32; index is a uint64 array."""
    x = (index * 0x9E3779B1 + (seed * 0x85EBCA77 & MASK)) & MASK
    x ^= x >> 16
    x = (x * 0x7FEB352D) & MASK
    x ^= x >> 15
    x = (x * 0x846CA68B) & MASK
    x ^= x >> 16
    return x


def uniform(count, seed):
    x = hash32(np.arange(count, dtype=np.uint64), seed)
    return ((x >> 8).astype(np.float64) - 2 ** 23) / 2 ** 23


def formula_tensor(shape, seed, offset, scale):
    count = int(np.prod(shape)) if len(shape) else 1
    return (offset + scale * uniform(count, seed)).astype(np.float32).reshape(shape)


def sample_indices(count, seed):
    """Deterministic entries to record; always includes the first and the last."""
    picks = hash32(np.arange(SAMPLES_PER_TENSOR, dtype=np.uint64), seed ^ 0x5A5A5A5A) % count
    picks = [int(i) for i in picks]
    picks[0], picks[-1] = 0, count - 1
    return picks


def is_residual_tail_bn(name, model_name):
    """The last BN of each block: a small gamma keeps the residual sum from doubling per block."""
    tail = 'bn2' if model_name == 'resnet18' else 'bn3'
    return f'.{tail}.' in name


def constants_for(name, shape, index, model_name):
    """Per-tensor (seed, offset, scale): fan-in scaled convs, gamma near 1, positive running_var."""
    seed = 7919 * (index + 1)
    leaf = name.rsplit('.', 1)[-1]
    is_bn = len(shape) == 1 and not name.startswith('fc.')
    if name.startswith('fc.'):
        return seed, 0.0, (1.0 / math.sqrt(shape[1])) if leaf == 'weight' else 0.1
    if not is_bn:
        fan_in = shape[1] * shape[2] * shape[3]
        return seed, 0.0, math.sqrt(6.0 / fan_in)
    if leaf == 'weight':
        return seed, (0.25 if is_residual_tail_bn(name, model_name) else 1.0), 0.125
    if leaf == 'bias':
        return seed, 0.0, 0.125
    if leaf == 'running_mean':
        return seed, 0.0, 0.25
    if leaf == 'running_var':
        return seed, 1.5, 0.5
    raise ValueError(f'no formula for {name}')


def tf_same_pads(size, kernel, stride):
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def use_tf_same_padding(model):
    """MindSpore's pad_mode='same' on every conv and max pool: explicit F.pad before a padding-0 op; names unchanged."""
    def pad_input(module, args):
        x = args[0]
        kernel, stride = (module.kernel_size, module.stride)
        kernel = kernel[0] if isinstance(kernel, tuple) else kernel
        stride = stride[0] if isinstance(stride, tuple) else stride
        top, bottom = tf_same_pads(x.shape[2], kernel, stride)
        left, right = tf_same_pads(x.shape[3], kernel, stride)
        fill = -math.inf if isinstance(module, torch.nn.MaxPool2d) else 0.0
        return (F.pad(x, (left, right, top, bottom), value=fill),)

    for module in model.modules():
        if isinstance(module, (torch.nn.Conv2d, torch.nn.MaxPool2d)):
            module.padding = (0, 0) if isinstance(module, torch.nn.Conv2d) else 0
            module.register_forward_pre_hook(pad_input)


ZOO = ['mobilenet_v2', 'mobilenet_v3_large', 'mobilenet_v3_small', 'efficientnet_b0', 'convnext_tiny']
ZOO_NAMES_ONLY = ['efficientnet_b1', 'efficientnet_b2', 'efficientnet_b3']
ZOO_IMAGE_SHAPES = {}
# The training step's gradient is discontinuous where an activation's input sits on a kink (ReLU6's
# mask at 0 and 6): an element within float32 rounding of a kink takes either side in a float32 run,
# and in a BN channel of a few values each such flip moves every upstream gradient by up to 1e-2.
# With beta ~ 0 before ReLU6, half of MobileNetV2's 1.5M pre-activations crowd the kink at 0: at
# 96 px, 245 sat within 10x the float32 forward error, torch's own float32 gradients flipped 1-2 of
# them (2.9e-3 from float64 on 2 threads, 2.1e-2 on 1) and tlkit's flipped 3 (2.6e-2); with the
# float64 step re-run on tlkit's own masks, tlkit's gradients matched it within 6.5e-5.
# So the training reference centres MobileNetV2's pre-activations between the kinks (BN before
# ReLU6: beta 3 +- 0.125, gamma 0.75 +- 0.125): ~0.03% still clip at each kink, none lies within 10x
# the float32 error of one (checked below, recorded as 'kinks').
TRAINING_PRE_ACTIVATION_BN = {'mobilenet_v2': {'bias': 3.0, 'weight': 0.75}}
KINK_MARGIN = 10.0
# MobileNetV3's ReLUs (early blocks, and in squeeze-excitation after a plain linear layer) are not moved off
# their kink by BN constants, so its training inputs are the first seeds after INPUT_SEED at which no input
# within 10x float32 error of a kink, flipped, moves a gradient by more than FLIP_LIMIT. At INPUT_SEED one
# such flip moved MobileNetV3-Large's gradients by 3.2e-2 (seeds +1..+5: 5e-3..4e-2; +6: 1.8e-4) and
# Small's by 5.0e-4 (+1: no input within 10x).
TRAINING_INPUT_SEEDS = {'mobilenet_v3_large': 1_000_009, 'mobilenet_v3_small': 1_000_004}
FLIP_LIMIT = 5e-4
MAX_FLIPS_CHECKED = 32


def block_tail_norms(model):
    """The last norm layer of every residual block (its gamma starts small, as for ResNet's bn2/bn3)."""
    block_types = tuple(t for t in (getattr(torchvision.models.mobilenetv2, 'InvertedResidual', None),
                                    getattr(torchvision.models.mobilenetv3, 'InvertedResidual', None),
                                    getattr(torchvision.models.efficientnet, 'MBConv', None)) if t is not None)
    tails = set()
    for name, module in model.named_modules():
        if isinstance(module, block_types):
            norms = [n for n, m in module.named_modules() if isinstance(m, torch.nn.BatchNorm2d)]
            tails.add(f'{name}.{norms[-1]}')
    return tails


def zoo_constants_for(name, shape, index, model, tails, linears):
    """Per-tensor (seed, offset, scale) for the mobile families and ConvNeXt: He-scaled convs and linears, norms near 1."""
    seed = 7919 * (index + 1)
    module_name, leaf = name.rsplit('.', 1)
    if leaf == 'layer_scale':
        return seed, 0.5, 0.125
    if module_name in linears or len(shape) == 4:
        if leaf == 'bias':
            return seed, 0.0, 0.1
        fan_in = int(np.prod(shape[1:]))
        is_head = name.startswith('classifier.') and name == linears_last(linears)
        return seed, 0.0, (1.0 / math.sqrt(fan_in)) if is_head else math.sqrt(6.0 / fan_in)
    # BatchNorm2d / LayerNorm / LayerNorm2d
    if leaf == 'weight':
        return seed, (0.25 if module_name in tails else 1.0), 0.125
    if leaf == 'bias':
        return seed, 0.0, 0.125
    if leaf == 'running_mean':
        return seed, 0.0, 0.25
    if leaf == 'running_var':
        return seed, 1.5, 0.5
    raise ValueError(f'no formula for {name}')


def linears_last(linears):
    return sorted(linears, key=lambda n: [int(p) if p.isdigit() else p for p in n.split('.')])[-1] + '.weight'


def without_randomness(model):
    """Dropout and stochastic depth off: both sides then compute the same deterministic step."""
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
        if type(module).__name__ == 'StochasticDepth':
            module.p = 0.0


def norms_before_relu6(model):
    """BN layers whose output goes straight into a ReLU6 (torchvision's Conv2dNormActivation: conv, norm, ReLU6)."""
    names = set()
    for name, module in model.named_modules():
        children = list(module.named_children())
        for (bn_name, bn), (_, after) in zip(children, children[1:]):
            if isinstance(bn, torch.nn.BatchNorm2d) and isinstance(after, torch.nn.ReLU6):
                names.add(f'{name}.{bn_name}' if name else bn_name)
    return names


def build_model(model_name, dtype, pad_mode='pad', num_classes=NUM_CLASSES, training=False):
    model = getattr(torchvision.models, model_name)(num_classes=num_classes)
    if pad_mode == 'same':
        use_tf_same_padding(model)
    zoo = model_name in ZOO + ZOO_NAMES_ONLY
    pre_activation = TRAINING_PRE_ACTIVATION_BN.get(model_name) if training else None
    if zoo:
        without_randomness(model)
        tails = block_tail_norms(model)
        linears = {n for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)}
        before_relu6 = norms_before_relu6(model) if pre_activation else set()
    tensors = {}
    for index, name in enumerate(sorted(k for k in model.state_dict() if not k.endswith('num_batches_tracked'))):
        shape = tuple(model.state_dict()[name].shape)
        if zoo:
            seed, offset, scale = zoo_constants_for(name, shape, index, model, tails, linears)
            module_name, leaf = name.rsplit('.', 1)
            if module_name in before_relu6 and leaf in pre_activation:
                offset = pre_activation[leaf]
        else:
            seed, offset, scale = constants_for(name, shape, index, model_name)
        tensors[name] = {'shape': list(shape), 'seed': seed, 'offset': offset, 'scale': scale,
                         'value': formula_tensor(shape, seed, offset, scale)}
    state = {name: torch.from_numpy(t['value'].astype(np.float64 if dtype == torch.float64 else np.float32))
             for name, t in tensors.items()}
    for name, buffer in model.state_dict().items():
        if name.endswith('num_batches_tracked'):
            state[name] = buffer
    model.load_state_dict(state)
    return model.to(dtype), tensors


def image(dtype, shape=IMAGE_SHAPE, seed=INPUT_SEED):
    return torch.from_numpy(formula_tensor(shape, seed, 0.0, 1.0)).to(dtype)


KINKS = {torch.nn.ReLU: (0.0,), torch.nn.ReLU6: (0.0, 6.0), torch.nn.Hardswish: (-3.0, 3.0), torch.nn.Hardsigmoid: (-3.0, 3.0)}


def record_kinked_inputs(model, nudge=None):
    """The input of every activation with a kink, in training-mode call order (cloned before an in-place
    activation overwrites it). nudge = (call, flat index, value) sets one input entry first."""
    seen = []

    def hook(module, args, kinks):
        if not module.training:
            return None
        x = args[0]
        if nudge and nudge[0] == len(seen):
            x = x.clone()
            x.view(-1)[nudge[1]] = nudge[2]
        seen.append((kinks, x.detach().clone()))
        return (x,) if x is not args[0] else None

    for module in model.modules():
        kinks = KINKS.get(type(module))
        if kinks:
            module.register_forward_pre_hook(lambda m, args, kinks=kinks: hook(m, args, kinks))
    return seen


def kink_margins(exact_inputs, single_inputs):
    """How far the float64 training forward keeps each activation input from a kink, in units of that layer's float32 error."""
    worst, within, clipped, count, near = math.inf, 0, 0, 0, []
    for call, ((kinks, x64), (_, x32)) in enumerate(zip(exact_inputs, single_inputs)):
        error = float((x32.double() - x64).abs().max())
        distance = torch.stack([(x64 - k).abs() for k in kinks]).min(0).values
        worst = min(worst, float(distance.min()) / max(error, 1e-30))
        within += int((distance < KINK_MARGIN * error).sum())
        for j in torch.nonzero(distance.reshape(-1) < KINK_MARGIN * error).reshape(-1).tolist():
            value = float(x64.reshape(-1)[j])
            kink = min(kinks, key=lambda k: abs(value - k))
            near.append((call, j, 2 * kink - value))
        clipped += sum(int((x64 <= k).sum()) if i == 0 else int((x64 >= k).sum()) for i, k in enumerate(kinks))
        count += x64.numel()
    return {'activations': len(exact_inputs), 'values': count, 'minMarginOverFloat32Error': worst if exact_inputs else None,
            f'within{int(KINK_MARGIN)}xFloat32Error': within, 'clippedFraction': clipped / max(count, 1)}, near


def flip_impact(model_name, pad_mode, image_shape, near, exact_grads):
    """The largest relative change of any gradient (norm) when one near-kink input is mirrored to the kink's other side:
    what a float32 run that rounds it across the kink would see."""
    typical = float(np.median([float(g.norm()) for g in exact_grads.values()]))
    worst = 0.0
    for nudge in near[:MAX_FLIPS_CHECKED]:
        _, flipped = run(model_name, torch.float64, pad_mode, image_shape, nudge)
        worst = max([worst] + [float((flipped['grads'][n] - g).norm() / g.norm()) for n, g in exact_grads.items() if float(g.norm()) > 1e-9 * typical])
    return worst


def run(model_name, dtype, pad_mode, image_shape=IMAGE_SHAPE, nudge=None):
    seed = TRAINING_INPUT_SEEDS.get(model_name, INPUT_SEED)
    """Logits in eval mode, then one SGD-momentum step in training mode from the same weights."""
    model, tensors = build_model(model_name, dtype, pad_mode, training=True)
    kinked = record_kinked_inputs(model, nudge)
    x = image(dtype, image_shape, seed)
    model.eval()
    with torch.no_grad():
        eval_logits = model(x).clone()
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE, momentum=MOMENTUM)
    optimizer.zero_grad()
    logits = model(x)
    loss = F.cross_entropy(logits, torch.tensor(LABELS))
    loss.backward()
    grads = {name: p.grad.detach().clone() for name, p in model.named_parameters()}
    optimizer.step()
    after = {name: t.detach().clone() for name, t in model.state_dict().items()}
    return tensors, {'eval_logits': eval_logits, 'train_logits': logits.detach(), 'loss': loss.detach(),
                     'grads': grads, 'after': after, 'kinked': kinked}


def short(value):
    """Nine significant digits: far below every tolerance, half the fixture size of full repr."""
    return float(f'{value:.9g}')


def as_list(t):
    return [short(v) for v in t.reshape(-1).tolist()]


def max_relative(a, b):
    return float((a.double() - b.double()).abs().max() / b.double().abs().max().clamp_min(1e-30))


def zoo_names():
    """Every state_dict name and shape of each zoo model (1000 classes), to check tlkit's parameters map 1:1."""
    out = {}
    for model_name in ZOO + ZOO_NAMES_ONLY:
        state = getattr(torchvision.models, model_name)().state_dict()
        out[model_name] = [[name, list(t.shape)] for name, t in state.items() if not name.endswith('num_batches_tracked')]
    return {'torchvision': torchvision.__version__, 'models': out}


PREDICT_SHAPE = (2, 3, 64, 64)


def predict_reference():
    """1000-class models with formula weights and their eval logits: what `tlkit predict` must reproduce."""
    out = {}
    for model_name in ZOO + ZOO_NAMES_ONLY:
        model, tensors = build_model(model_name, torch.float64, num_classes=1000)
        model.eval()
        with torch.no_grad():
            logits = model(image(torch.float64, PREDICT_SHAPE))
        out[model_name] = {
            'tensors': [{'name': n, 'shape': t['shape'], 'seed': t['seed'], 'offset': t['offset'], 'scale': t['scale']} for n, t in tensors.items()],
            'logits': as_list(logits),
        }
        print(model_name, 'predict max|logit|', float(logits.abs().max()))
    return {'torchvision': torchvision.__version__, 'input': {'shape': list(PREDICT_SHAPE), 'seed': INPUT_SEED, 'offset': 0.0, 'scale': 1.0}, 'models': out}


def ops_reference():
    """Each new op's output and input gradient of sum(y * R) in float64 (activations, depthwise conv, layer norm)."""
    cases = []
    x_spec = {'seed': 11, 'offset': 0.0, 'scale': 5.0}
    r_spec = {'seed': 12, 'offset': 0.0, 'scale': 1.0}
    shape = [2, 3, 4, 5]
    for op in ['relu6', 'hardswish', 'hardsigmoid', 'sigmoid', 'silu', 'gelu']:
        x = torch.from_numpy(formula_tensor(shape, **x_spec)).double().requires_grad_()
        y = {'relu6': F.relu6, 'hardswish': F.hardswish, 'hardsigmoid': F.hardsigmoid, 'sigmoid': torch.sigmoid,
             'silu': F.silu, 'gelu': F.gelu}[op](x)
        r = torch.from_numpy(formula_tensor(shape, **r_spec)).double()
        (dx,) = torch.autograd.grad((y * r).sum(), [x])
        cases.append({'op': op, 'inputShape': shape, 'input': x_spec, 'upstream': r_spec, 'output': as_list(y.detach()), 'inputGrad': as_list(dx)})
    for kernel, stride, size in [(3, 1, 6), (3, 2, 7), (5, 2, 8), (7, 1, 8)]:
        pad = (kernel - 1) // 2
        in_shape = [2, 4, size, size]
        w_spec = {'seed': 13, 'offset': 0.0, 'scale': 1.0 / kernel}
        x = torch.from_numpy(formula_tensor(in_shape, **{**x_spec, 'scale': 1.0})).double().requires_grad_()
        w = torch.from_numpy(formula_tensor([4, 1, kernel, kernel], **w_spec)).double().requires_grad_()
        y = F.conv2d(x, w, stride=stride, padding=pad, groups=4)
        r = torch.from_numpy(formula_tensor(list(y.shape), **r_spec)).double()
        dx, dw = torch.autograd.grad((y * r).sum(), [x, w])
        cases.append({'op': 'depthwise', 'kernel': kernel, 'stride': stride, 'pads': pad, 'inputShape': in_shape, 'input': {**x_spec, 'scale': 1.0},
                      'weight': w_spec, 'upstream': r_spec, 'outputShape': list(y.shape), 'output': as_list(y.detach()),
                      'inputGrad': as_list(dx), 'weightGrad': as_list(dw)})
    for axis in [1, 3]:
        in_shape = [2, 4, 3, 4]
        x = torch.from_numpy(formula_tensor(in_shape, **x_spec)).double().requires_grad_()
        w = torch.from_numpy(formula_tensor([4], seed=14, offset=1.0, scale=0.25)).double().requires_grad_()
        b = torch.from_numpy(formula_tensor([4], seed=15, offset=0.0, scale=0.25)).double().requires_grad_()
        moved = x if axis == 3 else x.permute(0, 2, 3, 1)
        y = F.layer_norm(moved, (4,), w, b, 1e-6)
        y = y if axis == 3 else y.permute(0, 3, 1, 2)
        r = torch.from_numpy(formula_tensor(in_shape, **r_spec)).double()
        dx, dw, db = torch.autograd.grad((y * r).sum(), [x, w, b])
        cases.append({'op': 'layer_norm', 'axis': axis, 'eps': 1e-6, 'inputShape': in_shape, 'input': x_spec, 'upstream': r_spec,
                      'weight': {'seed': 14, 'offset': 1.0, 'scale': 0.25}, 'bias': {'seed': 15, 'offset': 0.0, 'scale': 0.25},
                      'output': as_list(y.detach()), 'inputGrad': as_list(dx), 'weightGrad': as_list(dw), 'biasGrad': as_list(db)})
    return {'torch': torch.__version__, 'cases': cases}


def resnet_reference(model_name, pad_mode, image_shape=IMAGE_SHAPE):
    tensors, exact = run(model_name, torch.float64, pad_mode, image_shape)
    _, single = run(model_name, torch.float32, pad_mode, image_shape)
    entries = []
    for name, spec in tensors.items():
        count = int(np.prod(spec['shape']))
        indices = sample_indices(count, spec['seed'])
        entry = {'name': name, 'shape': spec['shape'], 'seed': spec['seed'], 'offset': spec['offset'],
                 'scale': spec['scale'], 'indices': indices}
        updated = exact['after'][name].reshape(-1)
        entry['updatedSample'] = [short(updated[i]) for i in indices]
        if name in exact['grads']:
            grad = exact['grads'][name].reshape(-1)
            entry['gradNorm'] = float(grad.norm())
            entry['gradRms'] = float(grad.norm() / math.sqrt(count))
            entry['gradSample'] = [short(grad[i]) for i in indices]
            # How far torch's own float32 gradient is from float64 (norm of the difference / norm):
            # the conditioning of this tensor's gradient at this input, for scale.
            difference = (single['grads'][name].double().reshape(-1) - grad).norm()
            entry['torchFloat32GradError'] = float(difference / grad.norm().clamp_min(1e-30))
            single_grad = single['grads'][name].double().reshape(-1)
            rms = float(grad.norm() / math.sqrt(count))
            entry['torchFloat32SampleError'] = max(abs(float(single_grad[i] - grad[i])) / max(abs(float(grad[i])), rms, 1e-30) for i in indices)
        entries.append(entry)
    kinks, near = kink_margins(exact['kinked'], single['kinked'])
    if model_name in ZOO:
        kinks['worstGradientChangeFromOneFlip'] = flip_impact(model_name, pad_mode, image_shape, near, exact['grads']) if near else 0.0
        if kinks['worstGradientChangeFromOneFlip'] > FLIP_LIMIT:
            raise SystemExit(f'{model_name}: {kinks} - an input within float32 rounding of a kink moves the gradients by more than {FLIP_LIMIT}')
    if model_name in TRAINING_PRE_ACTIVATION_BN and kinks[f'within{int(KINK_MARGIN)}xFloat32Error']:
        raise SystemExit(f'{model_name}: {kinks} - an activation input within float32 rounding of a kink makes the reference step ambiguous')
    grad_deviation = max(float((single['grads'][n].double() - exact['grads'][n]).norm() / exact['grads'][n].norm().clamp_min(1e-30))
                         for n in exact['grads'])
    return {
        'model': model_name,
        'padMode': pad_mode,
        'torchvision': torchvision.__version__,
        'torch': torch.__version__,
        'numClasses': NUM_CLASSES,
        'hash': 'lowbias32((i * 0x9E3779B1 + seed * 0x85EBCA77) mod 2^32); u = ((h >>> 8) - 2^23) / 2^23; v = f32(offset + scale * u)',
        'input': {'shape': list(image_shape), 'seed': TRAINING_INPUT_SEEDS.get(model_name, INPUT_SEED), 'offset': 0.0, 'scale': 1.0},
        'labels': LABELS,
        'optimizer': {'kind': 'momentum', 'learningRate': LEARNING_RATE, 'momentum': MOMENTUM},
        'bnMomentumTorch': 0.1,
        'evalLogits': as_list(exact['eval_logits']),
        'trainLogits': as_list(exact['train_logits']),
        'loss': float(exact['loss']),
        'tensors': entries,
        'kinks': kinks,
        'torchFloat32Deviation': {
            'evalLogitsMaxRelative': max_relative(single['eval_logits'], exact['eval_logits']),
            'lossRelative': abs(float(single['loss']) - float(exact['loss'])) / abs(float(exact['loss'])),
            'gradientMaxRelativeNorm': grad_deviation,
        },
    }


SAME_SIZES = [(8, 8), (9, 9), (5, 10), (10, 5)]
SAME_KERNELS = [1, 3, 7]
SAME_STRIDES = [1, 2]
# A batch of 2 checks that max pool's flat argmax indices (used by its backward) include the batch offset.
SAME_CHANNELS_IN, SAME_CHANNELS_OUT, SAME_BATCH = 2, 3, 2


def same_padding_reference():
    """'same' conv and max pool as TensorFlow defines them, built from F.pad + padding-0 ops."""
    cases = []
    seed = 101
    for height, width in SAME_SIZES:
        for kernel in SAME_KERNELS:
            for stride in SAME_STRIDES:
                top, bottom = tf_same_pads(height, kernel, stride)
                left, right = tf_same_pads(width, kernel, stride)
                in_shape = [SAME_BATCH, SAME_CHANNELS_IN, height, width]
                w_shape = [SAME_CHANNELS_OUT, SAME_CHANNELS_IN, kernel, kernel]
                x_spec = {'seed': seed, 'offset': 0.0, 'scale': 1.0}
                w_spec = {'seed': seed + 1, 'offset': 0.0, 'scale': 1.0 / math.sqrt(SAME_CHANNELS_IN * kernel * kernel)}
                x = torch.from_numpy(formula_tensor(in_shape, **x_spec)).double().requires_grad_()
                w = torch.from_numpy(formula_tensor(w_shape, **w_spec)).double().requires_grad_()
                conv = F.conv2d(F.pad(x, (left, right, top, bottom)), w, stride=stride)
                assert conv.shape[2:] == (math.ceil(height / stride), math.ceil(width / stride))
                # Upstream gradient R for L = sum(y * R), so every output element weighs differently.
                r_spec = {'seed': seed + 2, 'offset': 0.0, 'scale': 1.0}
                r_conv = torch.from_numpy(formula_tensor(list(conv.shape), **r_spec)).double()
                dx_conv, dw_conv = torch.autograd.grad((conv * r_conv).sum(), [x, w])
                pool = F.max_pool2d(F.pad(x, (left, right, top, bottom), value=-math.inf), kernel, stride)
                r_pool = torch.from_numpy(formula_tensor(list(pool.shape), **r_spec)).double()
                (dx_pool,) = torch.autograd.grad((pool * r_pool).sum(), [x])
                cases.append({
                    'height': height, 'width': width, 'kernel': kernel, 'stride': stride,
                    'pads': {'top': top, 'bottom': bottom, 'left': left, 'right': right},
                    'inputShape': in_shape, 'weightShape': w_shape, 'input': x_spec, 'weight': w_spec, 'upstream': r_spec,
                    'conv': {'shape': list(conv.shape), 'output': as_list(conv.detach()),
                             'inputGrad': as_list(dx_conv), 'weightGrad': as_list(dw_conv)},
                    'maxPool': {'shape': list(pool.shape), 'output': as_list(pool.detach()), 'inputGrad': as_list(dx_pool)},
                })
                seed += 10
    return {'torch': torch.__version__, 'rule': 'pad_total = max((ceil(n/s)-1)*s + k - n, 0); begin = floor(total/2); end = total - begin',
            'cases': cases}


def write_json(path, value):
    temporary = f'{path}.tmp-{os.getpid()}'
    with open(temporary, 'w') as f:
        json.dump(value, f, separators=(',', ':'))
        f.write('\n')
    os.replace(temporary, path)


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', 'fixtures', 'parity')
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    only = sys.argv[2].split(',') if len(sys.argv) > 2 else None
    write_json(os.path.join(out_dir, 'zoo_names.json'), zoo_names())
    write_json(os.path.join(out_dir, 'zoo_ops.json'), ops_reference())
    write_json(os.path.join(out_dir, 'zoo_predict.json'), predict_reference())
    for model_name in ZOO:
        if only and model_name not in only:
            continue
        reference = resnet_reference(model_name, 'pad', ZOO_IMAGE_SHAPES.get(model_name, IMAGE_SHAPE))
        write_json(os.path.join(out_dir, f'{model_name}.json'), reference)
        logits = np.array(reference['evalLogits'])
        print(model_name, 'loss', reference['loss'], 'max|logit|', float(np.abs(logits).max()),
              'torch float32 deviation', reference['torchFloat32Deviation'])
    if only:
        return
    write_json(os.path.join(out_dir, 'same_padding.json'), same_padding_reference())
    # PyTorch padding for torchvision/timm weights; MindSpore's 'same' (the tutorial's) on the small model.
    for model_name, pad_mode, file_name in [('resnet18', 'pad', 'resnet18'), ('resnet50', 'pad', 'resnet50'), ('resnet18', 'same', 'resnet18_same')]:
        reference = resnet_reference(model_name, pad_mode)
        write_json(os.path.join(out_dir, f'{file_name}.json'), reference)
        logits = np.array(reference['evalLogits'])
        print(file_name, 'loss', reference['loss'], 'max|logit|', float(np.abs(logits).max()),
              'torch float32 deviation', reference['torchFloat32Deviation'])


if __name__ == '__main__':
    main()
