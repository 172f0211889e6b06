// Buy pages as static/live-client.js runs them, through a proxy while its processes restart
// (node --experimental-websocket; NODE_EXTRA_CA_CERTS names the proxy's CA).
// Usage: node restart_clients.mjs WSS_SHOW_URL PRODUCT_ID CLIENTS SECONDS
// Prints one JSON line: every acknowledged order id, refusals, close codes, and the gaps (ms)
// between a socket closing and the next snapshot.
import { connectShow } from "../../../static/live-client.js";

const [url, productId, count, seconds] = process.argv.slice(2);
const until = Date.now() + Number(seconds) * 1000;
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
const found = { acked: [], refused: [], closes: [], gaps: [], snapshots: 0 };

async function buyer(i) {
  const token = `restart-${i}-${crypto.randomUUID().replaceAll("-", "")}`.slice(0, 64);
  let lostAt = null;
  let synced;
  const ready = new Promise((done) => { synced = done; });
  const client = connectShow({
    url: `${url}?buyer=${token}`,
    onStatus: (status, detail) => {
      if (status === "closed") {
        found.closes.push(detail.code);
        if (lostAt === null) lostAt = Date.now();
      }
    },
    onState: (_, why) => {
      if (why !== "snapshot") return;
      found.snapshots += 1;
      if (lostAt !== null) {
        found.gaps.push(Date.now() - lostAt);
        lostAt = null;
      }
      synced();
    },
  });
  await ready;
  while (Date.now() < until) {
    // The promise settles with the final answer: `busy` is retried inside, a socket lost
    // meanwhile resends the order with the same key after the next snapshot.
    const result = await client.order(productId, 1);
    if (result.ok) found.acked.push(result.order.id);
    else found.refused.push(result.error);
    await sleep(300);
  }
  client.close();
}

await Promise.all(Array.from({ length: Number(count) }, (_, i) => buyer(i)));
console.log(JSON.stringify(found));
process.exit(0);
