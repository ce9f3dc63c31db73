import { parseArgs } from 'node:util';
import { SimulatedDevice } from './device';
import { defaultFarmClientId, defaultOrigin, Farm } from './farm';
import { profileByName } from './profile';
import { TelemetryStore } from './store/telemetry-store';
import type { SimLogger, Stats } from './mqtt';

export * from './index';

const HELP = `devicesaga device simulator — plays devices over MQTT (DESIGN.md §5.1)

usage: npx tsx device-simulator/src/main.ts [options]

  --farm                      one service-account connection answering for every device id (default when no
                              --device is given); credentials from MQTT_SIMULATOR_USERNAME / MQTT_SIMULATOR_PASSWORD
  --device <id>:<password>    a device on its own credentials (repeatable); --farm-devices for the farm instead
  --farm-devices <id,id,...>  devices the farm announces online at start (others join on their first command)
  --profile <name>            hardware profile (default demo: temperature -40..70, enabled 0|1)
  --telemetry-ms <ms>         telemetry period per device, 0 = none (default 1000)
  --telemetry-per-second <n>  readings per second per device instead (e.g. 1000; --device only), one MQTT message each
  --store <path>|memory       where unsent telemetry waits (store and forward: it survives a broker outage and, in a
                              file, a restart); default $SIMULATOR_STORE or .run/simulator/<client id>.sqlite
  --client-id <id>            the farm's MQTT client id (default $MQTT_SIMULATOR_CLIENT_ID or ${defaultFarmClientId})
  --origin <name>             the farm answers only commands from this adapter (default $MQTT_COMMAND_ORIGIN or
                              ${defaultOrigin}); a stack instance sets both (scripts/stack/instance.ts)
  --topic-root <root>         the farm's device topics: devices (default, $MQTT_TOPIC_ROOT) or <name>/devices
  --reply-latency-ms <ms>     delay before each reply (default 0)
  --refusal-rate <0..1>       share of valid commands refused anyway (default 0)
  --offline-every-s <s>       devices go offline at random, on average every <s> seconds (with --offline-for-s)
  --offline-for-s <s>         mean length of an offline period
  --mqtt-url <url>            default $MQTT_URL or mqtt://127.0.0.1:1884
  -v, --verbose               log devices' connects and problems
  -h, --help

Progress: one refreshing line on a TTY, else a line every 10 s. SIGINT/SIGTERM publish offline and exit.
`;

function num(name: string, raw: string | undefined, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || n > max) throw new Error(`--${name} must be a number between 0 and ${max}`);
  return n;
}

export async function cli(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      farm: { type: 'boolean' },
      device: { type: 'string', multiple: true },
      'farm-devices': { type: 'string' },
      profile: { type: 'string', default: 'demo' },
      'telemetry-ms': { type: 'string' },
      'telemetry-per-second': { type: 'string' },
      store: { type: 'string' },
      'client-id': { type: 'string' },
      origin: { type: 'string' },
      'topic-root': { type: 'string' },
      'reply-latency-ms': { type: 'string' },
      'refusal-rate': { type: 'string' },
      'offline-every-s': { type: 'string' },
      'offline-for-s': { type: 'string' },
      'mqtt-url': { type: 'string' },
      verbose: { type: 'boolean', short: 'v' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const profile = profileByName(values.profile);
  const mqttUrl = values['mqtt-url'] ?? process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1884';
  const common = {
    mqttUrl,
    profile,
    telemetryMs: num('telemetry-ms', values['telemetry-ms'], 1000),
    replyLatencyMs: num('reply-latency-ms', values['reply-latency-ms'], 0),
    refusalRate: num('refusal-rate', values['refusal-rate'], 0, 1),
  };
  const clientId = values['client-id'] ?? process.env.MQTT_SIMULATOR_CLIENT_ID ?? defaultFarmClientId;
  const storePath = values.store ?? process.env.SIMULATOR_STORE ?? `.run/simulator/${clientId}.sqlite`;
  const store = new TelemetryStore(storePath === 'memory' ? ':memory:' : storePath);
  const unsentAtStart = store.count();
  const perSecond = num('telemetry-per-second', values['telemetry-per-second'], 0, 100_000);
  const logger: SimLogger = values.verbose
    ? { info: (o, m) => console.error(m ?? '', JSON.stringify(o)), warn: (o, m) => console.error('WARN', m ?? '', JSON.stringify(o)) }
    : { info: () => undefined, warn: (o, m) => console.error('WARN', m ?? '', JSON.stringify(o)) };

  const devices = (values.device ?? []).map((spec) => {
    const i = spec.indexOf(':');
    if (i <= 0 || i === spec.length - 1) throw new Error(`--device expects <id>:<password>, got ${JSON.stringify(spec)}`);
    return new SimulatedDevice({
      ...common,
      id: spec.slice(0, i),
      password: spec.slice(i + 1),
      offlineEverySec: num('offline-every-s', values['offline-every-s'], 0),
      offlineForSec: num('offline-for-s', values['offline-for-s'], 0),
      ...(perSecond > 0 ? { telemetryPerSecond: perSecond } : {}),
      store,
      logger,
    });
  });
  let farm: Farm | undefined;
  if (values.farm || devices.length === 0) {
    const username = process.env.MQTT_SIMULATOR_USERNAME ?? 'svc-simulator';
    const password = process.env.MQTT_SIMULATOR_PASSWORD;
    if (!password) throw new Error('MQTT_SIMULATOR_PASSWORD is not set (source infra/.run/env)');
    const farmDevices = (values['farm-devices'] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    const origin = values.origin ?? process.env.MQTT_COMMAND_ORIGIN ?? defaultOrigin;
    const topicRoot = values['topic-root'] ?? process.env.MQTT_TOPIC_ROOT ?? 'devices';
    farm = new Farm({ ...common, username, password, clientId, origin, store, topicRoot, deviceIds: farmDevices, logger });
  }

  const stats = (): Stats => {
    const all = [...devices.map((d) => d.stats), ...(farm ? [farm.stats] : [])];
    return all.reduce(
      (a, s) => ({
        online: a.online + s.online,
        telemetrySent: a.telemetrySent + s.telemetrySent,
        accepted: a.accepted + s.accepted,
        refused: a.refused + s.refused,
        ignored: a.ignored + s.ignored,
      }),
      { online: 0, telemetrySent: 0, accepted: 0, refused: 0, ignored: 0 },
    );
  };
  const line = () => {
    const s = stats();
    return `online ${s.online}/${devices.length + (farm ? farm.deviceIds.length : 0)}  telemetry ${s.telemetrySent} (unsent ${store.count()})  accepted ${s.accepted}  refused ${s.refused}  ignored ${s.ignored}`;
  };
  const tty = process.stdout.isTTY;
  const progress = setInterval(
    () => {
      if (tty) process.stdout.write(`\r\x1b[2K${line()}`);
      else process.stdout.write(`${new Date().toISOString()} ${line()}\n`);
    },
    tty ? 250 : 10_000,
  );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    clearInterval(progress);
    process.stdout.write(`${tty ? '\n' : ''}${signal}: going offline… ${line()}\n`);
    const timeout = setTimeout(() => process.exit(1), 5000);
    Promise.allSettled([...devices.map((d) => d.stop()), farm?.stop()])
      .then(() => {
        store.close();
        clearTimeout(timeout);
        process.exit(0);
      })
      .catch(() => process.exit(1));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  await Promise.all([...devices.map((d) => d.start()), farm?.start()]);
  process.stdout.write(
    `simulating ${devices.length} device(s)${farm ? ` + farm ${clientId} (every device id)` : ''} on ${mqttUrl}, profile ${profile.name}, ` +
      `store ${storePath}${unsentAtStart ? ` (${unsentAtStart} unsent readings to forward)` : ''}\n`,
  );
}

if (require.main === module) {
  cli(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
