/**
 * `npm start`: every service, the device simulator farm and demo data; prints the dashboard URL and the demo login.
 * Ctrl-C stops everything gracefully (the infrastructure keeps running: `npm run infra:down` stops it).
 */
import { seedDemo, demoOperator, demoUser } from './stack/demo';
import { startStack } from './stack/stack';

async function main() {
  const t0 = Date.now();
  const stack = await startStack({ withSimulatorFarm: true, onProgress: (line) => console.log(`[devicesaga] ${line}`) });
  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    console.log('[devicesaga] stopping services…');
    stack.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  const { devices } = await seedDemo(stack.gatewayUrl);
  console.log(`
[devicesaga] up in ${((Date.now() - t0) / 1000).toFixed(1)} s — ${devices} demo devices, simulator farm answering every device
  dashboard:  ${stack.gatewayUrl}/
  API:        ${stack.gatewayUrl}/api/v1
  demo login: ${demoUser.username} (or ${demoUser.email}) / ${demoUser.password}
  operator:   ${demoOperator.username} / ${demoOperator.password}   (make another: npm run user:role -- <username> operator)
  logs:       .run/logs/<service>.log     stop: Ctrl-C (infrastructure: npm run infra:down)
`);
}

main().catch((err: unknown) => {
  console.error(`[devicesaga] start failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
