import protobuf from 'protobufjs';
import type { Fail } from './varint.js';

/**
 * The few TensorFlow messages a checkpoint holds, declared here (field numbers from tensorflow/core/protobuf/
 * tensor_bundle.proto, trackable_object_graph.proto and framework/tensor_shape.proto, versions.proto,
 * tensor_slice.proto) and decoded with protobufjs. Enums are declared as int32 (the same wire encoding), so an
 * unknown dtype arrives as a number we can name in an error instead of being dropped.
 */
const F = (id: number, type: string, rule?: 'repeated'): { id: number; type: string; rule?: string } => ({ id, type, ...(rule ? { rule } : {}) });

const root = protobuf.Root.fromJSON({
  nested: {
    tensorflow: {
      nested: {
        VersionDef: { fields: { producer: F(1, 'int32'), minConsumer: F(2, 'int32'), badConsumers: F(3, 'int32', 'repeated') } },
        TensorShapeProto: {
          fields: { dim: F(2, 'Dim', 'repeated'), unknownRank: F(3, 'bool') },
          nested: { Dim: { fields: { size: F(1, 'int64'), name: F(2, 'string') } } },
        },
        TensorSliceProto: {
          fields: { extent: F(1, 'Extent', 'repeated') },
          nested: { Extent: { fields: { start: F(1, 'int64'), length: F(2, 'int64') } } },
        },
        // endianness: 0 LITTLE, 1 BIG.
        BundleHeaderProto: { fields: { numShards: F(1, 'int32'), endianness: F(2, 'int32'), version: F(3, 'VersionDef') } },
        BundleEntryProto: {
          fields: {
            dtype: F(1, 'int32'),
            shape: F(2, 'TensorShapeProto'),
            shardId: F(3, 'int32'),
            offset: F(4, 'int64'),
            size: F(5, 'int64'),
            crc32c: F(6, 'fixed32'),
            slices: F(7, 'TensorSliceProto', 'repeated'),
          },
        },
        TrackableObjectGraph: {
          fields: { nodes: F(1, 'TrackableObject', 'repeated') },
          nested: {
            TrackableObject: {
              fields: {
                children: F(1, 'ObjectReference', 'repeated'),
                attributes: F(2, 'SerializedTensor', 'repeated'),
                slotVariables: F(3, 'SlotVariableReference', 'repeated'),
              },
              nested: {
                ObjectReference: { fields: { nodeId: F(1, 'int32'), localName: F(2, 'string') } },
                SerializedTensor: { fields: { name: F(1, 'string'), fullName: F(2, 'string'), checkpointKey: F(3, 'string'), optionalRestore: F(4, 'bool') } },
                SlotVariableReference: { fields: { originalVariableNodeId: F(1, 'int32'), slotName: F(2, 'string'), slotVariableNodeId: F(3, 'int32') } },
              },
            },
          },
        },
      },
    },
  },
});

export interface VersionDef {
  producer: number;
  minConsumer: number;
  badConsumers: number[];
}
export interface BundleHeader {
  numShards: number;
  endianness: number;
  version: VersionDef | null;
}
export interface BundleEntry {
  dtype: number;
  shape: { dim: { size: string; name: string }[]; unknownRank: boolean } | null;
  shardId: number;
  /** int64 fields arrive as decimal strings, checked by the caller (they may be negative or past 2^53). */
  offset: string;
  size: string;
  crc32c: number;
  slices: unknown[];
}
export interface ObjectGraphMessage {
  nodes: {
    children: { nodeId: number; localName: string }[];
    attributes: { name: string; fullName: string; checkpointKey: string; optionalRestore: boolean }[];
    slotVariables: { originalVariableNodeId: number; slotName: string; slotVariableNodeId: number }[];
  }[];
}

const types = {
  header: root.lookupType('tensorflow.BundleHeaderProto'),
  entry: root.lookupType('tensorflow.BundleEntryProto'),
  graph: root.lookupType('tensorflow.TrackableObjectGraph'),
};

/**
 * Decodes `bytes` as one of our messages, defaults filled in. protobufjs throws plain Errors (RangeError on
 * truncation, "invalid wire type"); they are rewrapped through `fail` so every message names the file.
 */
export function decodeProto(kind: 'header', bytes: Uint8Array, what: string, fail: Fail): BundleHeader;
export function decodeProto(kind: 'entry', bytes: Uint8Array, what: string, fail: Fail): BundleEntry;
export function decodeProto(kind: 'graph', bytes: Uint8Array, what: string, fail: Fail): ObjectGraphMessage;
export function decodeProto(kind: keyof typeof types, bytes: Uint8Array, what: string, fail: Fail): unknown {
  const type = types[kind];
  let obj: unknown;
  try {
    obj = type.toObject(type.decode(bytes), { longs: String, defaults: true, arrays: true });
  } catch (e) {
    fail(`${what}: expected a valid ${type.name} protocol buffer, received bytes that do not decode (${(e as Error).message})`);
  }
  return obj;
}
