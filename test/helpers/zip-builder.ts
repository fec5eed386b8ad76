import * as zlib from 'node:zlib';

/**
 * One entry of a hand-built zip. Every header field a malicious archive could lie about can be set,
 * which is why the tests write zips byte by byte instead of using a zip library that refuses to.
 */
export interface ZipEntrySpec {
  name: string;
  data?: Uint8Array;
  /** 0 stored, 8 deflate (default 8 for files with data, 0 otherwise). */
  method?: 0 | 8;
  /** Already-deflated bytes to store as they are (shared by many entries in bomb tests). */
  compressed?: Uint8Array;
  /** Upper 16 bits: Unix mode. Default: regular file 0644, or folder 0755 for names ending in '/'. */
  externalAttributes?: number;
  /** Sizes and CRC written to both headers; default: the true values. */
  uncompressedSize?: number;
  crc32?: number;
}

export function buildZip(entries: ZipEntrySpec[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const spec of entries) {
    const name = Buffer.from(spec.name, 'utf8');
    const data = Buffer.from(spec.data ?? new Uint8Array(0));
    const method = spec.method ?? (spec.compressed !== undefined || data.length > 0 ? 8 : 0);
    const payload = spec.compressed !== undefined ? Buffer.from(spec.compressed) : method === 8 ? zlib.deflateRawSync(data) : data;
    const crc = spec.crc32 ?? zlib.crc32(data);
    const size = spec.uncompressedSize ?? data.length;
    const isFolder = spec.name.endsWith('/');
    const attributes = spec.externalAttributes ?? (isFolder ? ((0o040755 << 16) | 0x10) >>> 0 : (0o100644 << 16) >>> 0);

    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x0800, 6); // names are UTF-8
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(0, 10); // time
    local.writeUInt16LE(0x21, 12); // date 1980-01-01
    local.writeUInt32LE(crc >>> 0, 14);
    local.writeUInt32LE(payload.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    locals.push(local, name, payload);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 30, 4); // made by: Unix, spec 3.0
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(0, 12);
    central.writeUInt16LE(0x21, 14);
    central.writeUInt32LE(crc >>> 0, 16);
    central.writeUInt32LE(payload.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt16LE(0, 30); // extra
    central.writeUInt16LE(0, 32); // comment
    central.writeUInt16LE(0, 34); // disk
    central.writeUInt16LE(0, 36); // internal attributes
    central.writeUInt32LE(attributes >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);

    offset += local.length + name.length + payload.length;
  }
  const centralDirectory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(centralDirectory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, centralDirectory, end]);
}
