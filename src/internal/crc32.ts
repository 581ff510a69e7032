// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), the checksum zlib and PNG use.
// It catches typos and truncation before the store is touched; it authenticates nothing.
const TABLE = /* @__PURE__ */ (() => {
  const table = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    table[n] = c >>> 0
  }
  return table
})()

/**
 * CRC-32 of the code units of an ASCII string (callers pass only validated ASCII).
 *
 * @example
 * ```ts
 * crc32Ascii('123456789').toString(16) // 'cbf43926'
 * ```
 */
export function crc32Ascii(text: string, end = text.length): number {
  let crc = 0xffffffff
  for (let i = 0; i < end; i++) crc = TABLE[(crc ^ text.charCodeAt(i)) & 0xff]! ^ (crc >>> 8)
  return (crc ^ 0xffffffff) >>> 0
}
