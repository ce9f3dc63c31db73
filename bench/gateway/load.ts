/**
 * Keep-alive load for the proxy benchmark: N requests through the gateway at a fixed concurrency, alternating
 * GET /api/v1/devices and POST /api/v1/devices with a ~200-byte JSON body, all with one user's Bearer token.
 * Usage: node load.js <gatewayUrl> <token> <n> <concurrency>. Prints requests/s and the status counts.
 */
import http from 'node:http';

async function main(): Promise<void> {
  const [url, token, nRaw, cRaw] = process.argv.slice(2);
  if (!url || !token) throw new Error('usage: load <gatewayUrl> <token> <n> <concurrency>');
  const n = Number(nRaw ?? 20000);
  const concurrency = Number(cRaw ?? 16);
  const target = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const body = JSON.stringify({ name: 'bench device', sensors: [{ parameter: 'temperature' }, { parameter: 'enabled' }], note: 'x'.repeat(100) });
  const statuses = new Map<number, number>();
  let next = 0;
  const one = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const post = i % 2 === 1;
      const req = http.request(
        {
          agent,
          hostname: target.hostname,
          port: target.port,
          method: post ? 'POST' : 'GET',
          path: '/api/v1/devices',
          headers: { authorization: `Bearer ${token}`, ...(post ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {}) },
        },
        (res) => {
          statuses.set(res.statusCode ?? 0, (statuses.get(res.statusCode ?? 0) ?? 0) + 1);
          res.resume();
          res.once('end', resolve);
        },
      );
      req.once('error', reject);
      req.end(post ? body : undefined);
    });
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await one(next++);
    }),
  );
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  agent.destroy();
  process.stdout.write(`${n} requests in ${seconds.toFixed(2)} s: ${Math.round(n / seconds)} req/s; statuses ${JSON.stringify(Object.fromEntries(statuses))}\n`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
