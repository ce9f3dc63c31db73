/**
 * The benchmark's device fleet, as its own process: device-simulator farms (one MQTT connection each, the simulator's
 * service account), every device a thermometer sending one reading per MQTT message at QoS 1. The alarm devices swing
 * between 45 (High temperature) and 20 every `swingMs`, so alarms are raised and cleared all along. Prints
 * `{"ready": t}` once connected and `{"sent": n, "seconds": s}` (readings PUBACKed by the broker) when done.
 */
import { Farm, type Profile } from '../../device-simulator/src';

interface FarmSpec {
  mqttUrl: string;
  username: string;
  password: string;
  devices: string[];
  alarmDevices: string[];
  rate: number;
  seconds: number;
  connections: number;
  swingMs: number;
  run: string;
}

const spec = JSON.parse(process.env.TELBENCH_FARM ?? '{}') as FarmSpec;
const thermometer: Profile = { name: 'thermometer', parameters: { temperature: { initial: 20, noise: 0.5, decimals: 2 } }, fallback: { initial: 0, noise: 0 } };

async function main() {
  const groups: string[][] = Array.from({ length: spec.connections }, () => []);
  spec.devices.forEach((id, i) => groups[i % spec.connections]!.push(id));
  const farms = groups.map(
    (ids, i) =>
      new Farm({
        mqttUrl: spec.mqttUrl,
        username: spec.username,
        password: spec.password,
        clientId: `telbench-${spec.run}-${i}`,
        sessionExpirySec: 30,
        profile: thermometer,
        deviceIds: ids,
        // each device's period, so that the fleet sends `rate` readings a second
        telemetryMs: (spec.devices.length * 1000) / spec.rate,
      }),
  );
  await Promise.all(farms.map((f) => f.start()));
  const startedAt = Date.now();
  process.stdout.write(`${JSON.stringify({ ready: startedAt })}\n`);
  const byId = new Map<string, Farm>();
  farms.forEach((f) => f.deviceIds.forEach((id) => byId.set(id, f)));
  let high = false;
  const swing = setInterval(() => {
    high = !high;
    for (const id of spec.alarmDevices) byId.get(id)?.device(id).state.setpoints.set('temperature', high ? 45 : 20);
  }, spec.swingMs);
  await new Promise((r) => setTimeout(r, spec.seconds * 1000));
  clearInterval(swing);
  const sent = farms.reduce((n, f) => n + f.stats.telemetrySent, 0);
  const sendingSeconds = (Date.now() - startedAt) / 1000;
  await Promise.all(farms.map((f) => f.stop()));
  process.stdout.write(`${JSON.stringify({ sent, seconds: sendingSeconds })}\n`);
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
