// WebSocket frames as a client writes them (masked, RFC 6455 §5.2), for tests that speak the protocol by hand: cut a
// frame short, declare more than is sent, break the rules on purpose.

/** Where mask keys come from: a seeded generator, or {@link ZERO_MASK}. */
export interface MaskSource {
  /** An integer in [min, max]. */
  int(min: number, max: number): number;
}

/** Mask keys of zeros: a payload goes on the wire as it is, so a test can write it after the head, in pieces. */
export const ZERO_MASK: MaskSource = { int: () => 0 };

export const OPCODE = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

/** The bytes of an upgrade request for `path`. */
export function upgradeRequest(path: string, random: MaskSource): string {
  const key = Buffer.from(Array.from({ length: 16 }, () => random.int(0, 255))).toString("base64");
  return (
    `GET ${path} HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`
  );
}

/**
 * One client frame: FIN unless `fin` is false, masked unless `masked` is false, its length field saying
 * `declared` (the payload's length by default: a larger one makes a frame cut short).
 */
export function clientFrame(
  opcode: number,
  payload: string | Buffer,
  random: MaskSource,
  options: { readonly fin?: boolean; readonly masked?: boolean; readonly declared?: number } = {},
): Buffer {
  const data = typeof payload === "string" ? Buffer.from(payload, "utf8") : payload;
  const length = options.declared ?? data.byteLength;
  const masked = options.masked ?? true;
  const head: number[] = [(options.fin === false ? 0 : 0x80) | opcode];
  const maskBit = masked ? 0x80 : 0;
  if (length < 126) head.push(maskBit | length);
  else if (length < 65536) head.push(maskBit | 126, length >> 8, length & 0xff);
  else {
    head.push(maskBit | 127);
    const big = Buffer.alloc(8);
    big.writeBigUInt64BE(BigInt(length));
    head.push(...big);
  }
  if (!masked) return Buffer.concat([Buffer.from(head), data]);
  const mask = Array.from({ length: 4 }, () => random.int(0, 255));
  const body = Buffer.from(data);
  for (let i = 0; i < body.byteLength; i++) body[i] = body[i]! ^ mask[i % 4]!;
  return Buffer.concat([Buffer.from([...head, ...mask]), body]);
}

/** How many bytes of a client frame come before its payload (header and masking key). */
export function frameHeadLength(payloadLength: number): number {
  return 2 + (payloadLength < 126 ? 0 : payloadLength < 65536 ? 2 : 8) + 4;
}

/** A close frame with a code. */
export function closeFrame(code: number, random: MaskSource): Buffer {
  const payload = Buffer.alloc(2);
  payload.writeUInt16BE(code);
  return clientFrame(OPCODE.close, payload, random);
}
