// crosspost builds every Bluesky URL as https://BLUESKY_HOST/xrpc/...; the local PDS speaks plain HTTP.
// Loaded with `node --require`, this sends those same requests over http:// instead (nothing else changes).
"use strict";
const host = process.env.BLUESKY_HOST;
const realFetch = globalThis.fetch;
globalThis.fetch = (url, init) => {
  const text = typeof url === "string" ? url : url instanceof URL ? url.href : null;
  if (text !== null && text.startsWith(`https://${host}/`)) {
    return realFetch(`http://${text.slice("https://".length)}`, init);
  }
  return realFetch(url, init);
};
