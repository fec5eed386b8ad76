#!/usr/bin/python3
"""Independent reference reader for the weight formats tlkit handles.

Written against the format specifications, sharing no code with src/io/: a minimal protobuf wire
decoder for MindSpore .ckpt and ONNX files, json + numpy for safetensors. tlkit's tests use it to
record expected values for the real fixtures and to check that files tlkit writes read back in
Python. Needs only numpy (Debian's /usr/bin/python3 has it).

  weights_reference.py ckpt|safetensors|onnx|onnx-tensor FILE   -> JSON summary on stdout
"""
import hashlib
import json
import struct
import sys

import numpy as np

CKPT_TYPES = {
    'Float16': '<f2', 'Float32': '<f4', 'Float64': '<f8', 'BFloat16': 'bf16',
    'Int8': '<i1', 'Int16': '<i2', 'Int32': '<i4', 'Int64': '<i8',
    'UInt8': '<u1', 'UInt16': '<u2', 'UInt32': '<u4', 'UInt64': '<u8', 'Bool': '?',
}
SAFETENSORS_TYPES = {
    'F16': '<f2', 'F32': '<f4', 'F64': '<f8', 'BF16': 'bf16', 'I8': '<i1', 'I16': '<i2', 'I32': '<i4',
    'I64': '<i8', 'U8': '<u1', 'U16': '<u2', 'U32': '<u4', 'U64': '<u8', 'BOOL': '?',
    'F8_E4M3': 'e4m3', 'F8_E5M2': 'e5m2',
}
ONNX_TYPES = {1: '<f4', 2: '<u1', 3: '<i1', 4: '<u2', 5: '<i2', 6: '<i4', 7: '<i8', 9: '?', 10: '<f2',
              11: '<f8', 12: '<u4', 13: '<u8', 16: 'bf16'}


def varint(buf, pos):
    result, shift = 0, 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return result, pos


def fields(buf):
    """Yields (field number, wire type, value) for one message; value is int or bytes."""
    pos = 0
    while pos < len(buf):
        key, pos = varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = varint(buf, pos)
        elif wire == 2:
            length, pos = varint(buf, pos)
            value = bytes(buf[pos:pos + length])
            pos += length
        elif wire == 5:
            value = bytes(buf[pos:pos + 4])
            pos += 4
        elif wire == 1:
            value = bytes(buf[pos:pos + 8])
            pos += 8
        else:
            raise ValueError('unsupported wire type %d' % wire)
        yield number, wire, value


def float_values(raw, kind):
    """Element values as float64, decoding 16/8-bit floats from their bit patterns."""
    if kind == 'bf16':
        bits = np.frombuffer(raw, '<u2').astype(np.uint32) << 16
        return bits.view('<f4').astype(np.float64)
    if kind in ('e4m3', 'e5m2'):
        out = []
        for b in raw:
            sign = -1.0 if b & 0x80 else 1.0
            if kind == 'e4m3':
                e, m = (b >> 3) & 0xF, b & 7
                if e == 15 and m == 7:
                    out.append(float('nan'))
                elif e == 0:
                    out.append(sign * m * 2.0 ** -9)
                else:
                    out.append(sign * (1 + m / 8.0) * 2.0 ** (e - 7))
            else:
                e, m = (b >> 2) & 0x1F, b & 3
                if e == 31:
                    out.append(float('nan') if m else sign * float('inf'))
                elif e == 0:
                    out.append(sign * m * 2.0 ** -16)
                else:
                    out.append(sign * (1 + m / 4.0) * 2.0 ** (e - 15))
        return np.array(out, dtype=np.float64)
    return np.frombuffer(raw, kind).astype(np.float64)


def summary(name, dtype_name, shape, raw, kind):
    values = float_values(raw, kind)
    finite = values[np.isfinite(values)]
    return {
        'name': name, 'dtype': dtype_name, 'shape': list(shape),
        'sha256': hashlib.sha256(raw).hexdigest(),
        'sum': float(finite.sum()), 'first': [float(v) for v in values[:4]],
    }


def read_ckpt(path):
    data = open(path, 'rb').read()
    if data[-17:-10] == b'crc_num':
        data = data[:-17]
    entries, order = {}, []
    for number, _, value in fields(data):
        assert number == 1
        tag, tensor = None, None
        for n, _, v in fields(value):
            if n == 1:
                tag = v.decode('utf-8')
            elif n == 2:
                tensor = v
        dims, ttype, content = [], None, b''
        for n, w, v in fields(tensor):
            if n == 1 and w == 0:
                dims.append(v)
            elif n == 1 and w == 2:
                pos = 0
                while pos < len(v):
                    d, pos = varint(v, pos)
                    dims.append(d)
            elif n == 2:
                ttype = v.decode()
            elif n == 3:
                content = v
        if tag in entries:
            entries[tag]['content'] += content
        else:
            order.append(tag)
            entries[tag] = {'dims': dims, 'type': ttype, 'content': content}
    out = []
    for tag in order:
        e = entries[tag]
        if e['type'] == 'str':
            out.append({'name': tag, 'dtype': 'str', 'value': e['content'].decode('utf-32-le').rstrip('\0')})
            continue
        out.append(dict(summary(tag, e['type'], e['dims'], e['content'], CKPT_TYPES[e['type']]), dims=e['dims']))
    return out


def read_safetensors(path):
    data = open(path, 'rb').read()
    (n,) = struct.unpack('<Q', data[:8])
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    out = {'metadata': header.pop('__metadata__', {}), 'tensors': []}
    for name, info in header.items():
        begin, end = info['data_offsets']
        out['tensors'].append(summary(name, info['dtype'], info['shape'], body[begin:end], SAFETENSORS_TYPES[info['dtype']]))
    return out


def onnx_tensor(buf):
    dims, dtype, name, raw, floats, int64s = [], 0, '', None, [], []
    for n, w, v in fields(buf):
        if n == 1:
            if w == 0:
                dims.append(v)
            else:
                pos = 0
                while pos < len(v):
                    d, pos = varint(v, pos)
                    dims.append(d)
        elif n == 2:
            dtype = v
        elif n == 4:
            floats.extend(struct.unpack('<%df' % (len(v) // 4), v) if w == 2 else [struct.unpack('<f', v)[0]])
        elif n == 7:
            if w == 2:
                pos = 0
                while pos < len(v):
                    d, pos = varint(v, pos)
                    int64s.append(d - (1 << 64) if d >= 1 << 63 else d)
            else:
                int64s.append(v - (1 << 64) if v >= 1 << 63 else v)
        elif n == 8:
            name = v.decode()
        elif n == 9:
            raw = v
    kind = ONNX_TYPES[dtype]
    if raw is None:
        raw = np.array(floats, '<f4').tobytes() if dtype == 1 else np.array(int64s, '<i8').tobytes()
    return summary(name, dtype, dims, raw, kind)


def read_onnx(path):
    data = open(path, 'rb').read()
    out = {'opsets': [], 'initializers': [], 'inputs': [], 'outputs': []}
    for n, _, v in fields(data):
        if n == 1:
            out['ir_version'] = v
        elif n == 8:
            opset = dict((k, val) for k, _, val in fields(v))
            out['opsets'].append([opset.get(1, b'').decode() or 'ai.onnx', opset.get(2, 0)])
        elif n == 7:
            for gn, _, gv in fields(v):
                if gn == 5:
                    out['initializers'].append(onnx_tensor(gv))
                elif gn in (11, 12):
                    value_name = next(val for k, _, val in fields(gv) if k == 1).decode()
                    out['inputs' if gn == 11 else 'outputs'].append(value_name)
                elif gn == 1:
                    out['nodes'] = out.get('nodes', 0) + 1
    return out


if __name__ == '__main__':
    kind, path = sys.argv[1], sys.argv[2]
    reader = {'ckpt': read_ckpt, 'safetensors': read_safetensors, 'onnx': read_onnx,
              'onnx-tensor': lambda p: onnx_tensor(open(p, 'rb').read())}[kind]
    json.dump(reader(path), sys.stdout)
