import protobuf from 'protobufjs';

/**
 * MindSpore's checkpoint schema (mindspore/ccsrc/utils/checkpoint.proto, proto2), including the
 * `maptensor` branch newer versions add. Repeated int64 `dims` is unpacked in proto2, so the
 * writer must not pack it or the bytes would differ from MindSpore's.
 */
const checkpointSchema = {
  nested: {
    Checkpoint: {
      fields: { value: { rule: 'repeated', type: 'Value', id: 1 } },
      nested: {
        Value: {
          oneofs: { value: { oneof: ['tensor', 'maptensor'] } },
          fields: {
            tag: { rule: 'required', type: 'string', id: 1 },
            tensor: { type: 'TensorProto', id: 2 },
            maptensor: { type: 'MapTensorProto', id: 3 },
          },
        },
      },
    },
    TensorProto: {
      fields: {
        dims: { rule: 'repeated', type: 'int64', id: 1, options: { packed: false } },
        tensor_type: { rule: 'required', type: 'string', id: 2 },
        tensor_content: { rule: 'required', type: 'bytes', id: 3 },
      },
    },
    MapTensorProto: {
      fields: { tensor: { rule: 'repeated', type: 'TensorProto', id: 1 } },
    },
  },
};

const root = protobuf.Root.fromJSON(checkpointSchema);
export const CheckpointMessage = root.lookupType('Checkpoint');

/** protobufjs decodes int64 as a Long when the `long` package is present, else as a number. */
export type Int64Like = number | { toNumber(): number; high: number; low: number };

export interface TensorProtoData {
  dims: Int64Like[];
  tensor_type: string;
  tensor_content: Uint8Array;
}

export interface CheckpointValueData {
  tag: string;
  tensor?: TensorProtoData | null;
  maptensor?: { tensor: TensorProtoData[] } | null;
}

export interface CheckpointData {
  value: CheckpointValueData[];
}

export function decodeCheckpointMessage(bytes: Uint8Array): CheckpointData {
  return CheckpointMessage.decode(bytes) as unknown as CheckpointData;
}

/** One `Checkpoint` message holding one value; MindSpore writes one such message per tensor slice. */
export function encodeCheckpointValue(tag: string, dims: number[], tensorType: string, content: Uint8Array): Uint8Array {
  const message = CheckpointMessage.fromObject({
    value: [{ tag, tensor: { dims, tensor_type: tensorType, tensor_content: content } }],
  });
  return CheckpointMessage.encode(message).finish();
}

export function int64ToNumber(value: Int64Like): number {
  if (typeof value === 'number') return value;
  // Reject anything beyond 2^53 rather than silently rounding a dimension.
  if (value.high > 0x1fffff || value.high < -0x200000) return Number.NaN;
  return value.toNumber();
}
