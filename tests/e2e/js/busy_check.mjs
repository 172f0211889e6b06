// Drives static/live-client.js through a relay in front of a running server: the relay packs
// the server's messages into array frames and answers the first order `busy`.
// Usage: node busy_check.mjs RELAY_WS_URL PRODUCT_ID ; prints one JSON line of findings.
import { connectShow } from "../../../static/live-client.js";

const [url, productId] = process.argv.slice(2);
const findings = {};
const retries = [];
const types = [];
const client = connectShow({
  url,
  onRetry: (key, detail) => retries.push({ key, ...detail }),
  onMessage: (msg) => types.push(msg.type),
});
const waitFor = async (check, ms = 5000) => {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
};
await waitFor(() => client.state.ready);
const start = Date.now();
const answer = await client.order(productId, 2, "busy-key-00000001");
findings.waited_ms = Date.now() - start;
findings.retries = retries;
findings.answer = { ok: answer.ok, error: answer.error ?? null, repeat: answer.repeat, key: answer.key,
  qty: answer.order && answer.order.qty, stock: answer.stock };
findings.pending_left = client.pending.size;
// the stock message, in an array frame like the rest, brings the state to what the order left
await waitFor(() => client.state.products.get(productId).stock === answer.stock, 3000).catch(() => {});
findings.final_stock = client.state.products.get(productId).stock;
findings.types = types;
client.close();
console.log(JSON.stringify(findings));
process.exit(0);
