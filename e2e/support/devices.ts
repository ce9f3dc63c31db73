import { SimulatedDevice } from '../../device-simulator/src';
import type { Device } from './api';

const mqttUrl = process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1884';

/** A device playing firmware on its own MQTT credentials (the ones `POST /devices` answered once). */
export async function connectDevice(device: Device, options: { replyLatencyMs?: number; telemetryMs?: number } = {}): Promise<SimulatedDevice> {
  const sim = new SimulatedDevice({
    id: device.mqtt.username,
    password: device.mqtt.password,
    mqttUrl,
    telemetryMs: options.telemetryMs ?? 0,
    replyLatencyMs: options.replyLatencyMs ?? 0,
  });
  await sim.start();
  return sim;
}
