/**
 * A minimal Ogg page writer (RFC 3533) for one logical stream, enough to
 * carry Opus as RFC 7845 lays it out. Written here because no maintained
 * npm muxer streams Ogg pages from raw packets without bringing its own
 * codec: the format is small (27-byte header, lacing table, CRC-32).
 */

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let k = 0; k < 8; k++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    table[i] = r >>> 0;
  }
  return table;
})();

/** Ogg's CRC-32: polynomial 0x04C11DB7, not reflected, initial value 0, no final xor. */
export const oggCrc = (bytes: Uint8Array): number => {
  let crc = 0;
  for (let i = 0; i < bytes.length; i++) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ bytes[i]) & 0xff]) >>> 0;
  return crc >>> 0;
};

export const OGG_BOS = 0x02;
export const OGG_EOS = 0x04;

/** A page's lacing table has at most 255 entries. */
export const OGG_MAX_SEGMENTS = 255;

/** Lacing entries a packet takes: one per 255 bytes, plus one (a 0 ends an exact multiple). */
export const oggSegmentsOf = (packet: Uint8Array): number => Math.floor(packet.length / 255) + 1;

export interface OggWriter {
  /**
   * One page holding complete `packets` (at most 255 lacing entries in all),
   * stamped with `granule` (the position after its last packet) and `flags`.
   */
  page(packets: readonly Uint8Array[], granule: bigint, flags?: number): Uint8Array;
}

/** An Ogg stream with the given serial number; page sequence numbers count from 0. */
export const createOggWriter = (serial: number): OggWriter => {
  let sequence = 0;
  return {
    page(packets, granule, flags = 0) {
      const lacing: number[] = [];
      let bodyLength = 0;
      for (const p of packets) {
        for (let left = p.length; ; left -= 255) {
          lacing.push(Math.min(left, 255));
          if (left < 255) break;
        }
        bodyLength += p.length;
      }
      if (lacing.length > OGG_MAX_SEGMENTS) throw new RangeError('Too many packets for one Ogg page');
      const out = new Uint8Array(27 + lacing.length + bodyLength);
      const view = new DataView(out.buffer);
      out.set([0x4f, 0x67, 0x67, 0x53], 0); // "OggS", then version 0
      out[5] = flags;
      view.setBigInt64(6, granule, true);
      view.setUint32(14, serial >>> 0, true);
      view.setUint32(18, sequence++, true);
      // bytes 22..25 hold the CRC, computed over the page with them zeroed
      out[26] = lacing.length;
      out.set(lacing, 27);
      let offset = 27 + lacing.length;
      for (const p of packets) {
        out.set(p, offset);
        offset += p.length;
      }
      view.setUint32(22, oggCrc(out), true);
      return out;
    },
  };
};
