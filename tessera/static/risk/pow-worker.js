// Proof of work off the main thread: find a decimal nonce such that
// SHA-256(challenge + ":" + nonce) has `bits` leading zero bits (tessera/risk/pow.py).
import { search } from "./pow-core.js";

self.onmessage = async (event) => {
  const { challenge, bits } = event.data;
  self.postMessage({ nonce: await search(challenge, bits) });
};
