// The search itself, shared by the worker and the main-thread fallback.
const encoder = new TextEncoder();
const BATCH = 256; // digests in flight at once: WebCrypto is asynchronous

function zeroBits(bytes) {
  let bits = 0;
  for (const byte of bytes) {
    if (byte === 0) {
      bits += 8;
      continue;
    }
    return bits + Math.clz32(byte) - 24;
  }
  return bits;
}

export async function search(challenge, bits) {
  const prefix = challenge + ":";
  for (let start = 0; ; start += BATCH) {
    const batch = [];
    for (let n = start; n < start + BATCH; n++) {
      batch.push(crypto.subtle.digest("SHA-256", encoder.encode(prefix + n)));
    }
    const digests = await Promise.all(batch);
    for (let i = 0; i < digests.length; i++) {
      if (zeroBits(new Uint8Array(digests[i])) >= bits) return String(start + i);
    }
  }
}
