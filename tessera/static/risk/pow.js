// Tessera's browser check (tessera/risk): when a join or hold answers 428
// `challenge_required`, fetch a challenge with this browser's features signed into it, solve
// it (a Web Worker when the browser has module workers), and send the request again with
// `X-Tessera-Proof: <challenge>:<nonce>`. Fans see only a short "checking your browser" note.
import { search } from "./pow-core.js";

const WORKER_URL = new URL("./pow-worker.js", import.meta.url);

export function features() {
  return {
    wd: navigator.webdriver ? 1 : 0,
    lang: (navigator.languages || []).length,
    scr: window.screen ? `${screen.width}x${screen.height}` : "",
    tch: navigator.maxTouchPoints || 0,
  };
}

export function solve(challenge, bits) {
  if (typeof Worker === "function") {
    try {
      const worker = new Worker(WORKER_URL, { type: "module" });
      return new Promise((resolve, reject) => {
        worker.onmessage = (event) => {
          worker.terminate();
          resolve(event.data.nonce);
        };
        worker.onerror = (error) => {
          worker.terminate();
          search(challenge, bits).then(resolve, reject);
          error.preventDefault();
        };
        worker.postMessage({ challenge, bits });
      });
    } catch (error) {
      // no module workers here: solve on the main thread
    }
  }
  return search(challenge, bits);
}

// A challenge for `purpose` (join|hold) of a session or room, at least `atLeast` bits,
// with the browser's features signed in; falls back to `given` (the 428's own challenge).
async function fetchChallenge(purpose, target, given) {
  const f = features();
  const params = new URLSearchParams({ purpose, at_least: String(given.difficulty || 0) });
  if (target.session) params.set("session", target.session);
  if (target.room) params.set("room", target.room);
  params.set("wd", f.wd);
  params.set("lang", f.lang);
  params.set("scr", f.scr);
  params.set("tch", f.tch);
  try {
    const response = await fetch(`/api/v1/risk/challenge?${params}`, {
      credentials: "same-origin",
      cache: "no-store",
    });
    if (response.ok) return await response.json();
  } catch (error) {
    // offline for a moment: use the challenge the server gave
  }
  return given;
}

export async function proofFor(purpose, target, given) {
  const { challenge, difficulty } = await fetchChallenge(purpose, target, given);
  return `${challenge}:${await solve(challenge, difficulty)}`;
}

// fetch(url, init), and when it answers 428 challenge_required, solve and send it again
// (at most twice). `onChecking(true|false)` shows and hides the "checking" note.
export async function fetchWithProof(url, init, purpose, target, onChecking = () => {}) {
  let response = await fetch(url, init);
  for (let attempt = 0; attempt < 2 && response.status === 428; attempt++) {
    let details = null;
    try {
      details = (await response.clone().json()).error.details;
    } catch (error) {
      return response;
    }
    onChecking(true);
    try {
      const proof = await proofFor(purpose, target, details);
      const headers = new Headers(init.headers || {});
      headers.set("X-Tessera-Proof", proof);
      response = await fetch(url, { ...init, headers });
    } finally {
      onChecking(false);
    }
  }
  return response;
}

export function targetOf(url) {
  const session = /\/sessions\/(\d+)\//.exec(url);
  const room = /\/(?:waitingrooms|queue)\/(\d+)\//.exec(url);
  return { session: session ? session[1] : "", room: room ? room[1] : "" };
}
