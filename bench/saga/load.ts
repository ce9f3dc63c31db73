import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import type { Redis } from 'ioredis';

export interface Target {
  gatewayUrl: string;
  token: string;
  userId: string;
  sensors: { deviceId: string; sensorId: string }[];
}

export interface PhaseResult {
  offeredPerSec: number;
  seconds: number;
  sent: number;
  accepted: number;
  terminal: number;
  succeeded: number;
  errors: number;
  /** POST sent → terminal status published by command-service, ms. */
  latencies: number[];
  /** terminal commands per second over the phase (first POST → last terminal). */
  completedPerSec: number;
}

const TERMINAL = new Set(['SUCCEEDED', 'REJECTED', 'COMPENSATED']);

/**
 * Open-loop load: POSTs commands at `ratePerSec` for `seconds` (spread over the sensors round-robin), and waits for
 * each to reach a terminal status, observed on command-service's `user-commands:<userId>` Redis channel (published
 * after its transaction commits — what a user polling would see).
 */
export async function runPhase(target: Target, subscriber: Redis, ratePerSec: number, seconds: number, onProgress: (line: string) => void): Promise<PhaseResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const startedAt = new Map<string, number>();
  const latencies: number[] = [];
  let succeeded = 0;
  let terminal = 0;
  let lastTerminal = 0;
  const early = new Map<string, { status: string; at: number }>();
  const channel = `user-commands:${target.userId}`;

  const onMessage = (ch: string, message: string) => {
    if (ch !== channel) return;
    const at = performance.now();
    const command = JSON.parse(message) as { id: string; status: string };
    if (!TERMINAL.has(command.status)) return;
    const t0 = startedAt.get(command.id);
    if (t0 === undefined) {
      early.set(command.id, { status: command.status, at });
      return;
    }
    record(command.id, command.status, at, t0);
  };
  const record = (id: string, status: string, at: number, t0: number) => {
    startedAt.delete(id);
    latencies.push(at - t0);
    terminal++;
    lastTerminal = at;
    if (status === 'SUCCEEDED') succeeded++;
  };
  subscriber.on('message', onMessage);
  await subscriber.subscribe(channel);

  let sent = 0;
  let accepted = 0;
  let errors = 0;
  const total = Math.round(ratePerSec * seconds);
  const t0 = performance.now();
  const inflight: Promise<void>[] = [];
  const progress = setInterval(() => {
    onProgress(`  ${((performance.now() - t0) / 1000).toFixed(0)} s: sent ${sent}/${total}, accepted ${accepted}, terminal ${terminal}, errors ${errors}`);
  }, 5000);

  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / ratePerSec;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const sensor = target.sensors[i % target.sensors.length]!;
    const postedAt = performance.now();
    sent++;
    const body = JSON.stringify({ deviceId: sensor.deviceId, sensorId: sensor.sensorId, action: 'set', value: 10 + (i % 50), ttlSeconds: 60 });
    inflight.push(
      post(agent, `${target.gatewayUrl}/api/v1/commands`, body, { authorization: `Bearer ${target.token}`, 'idempotency-key': randomUUID() }).then(
        ({ status, text }) => {
          const answer = JSON.parse(text) as { id?: string };
          if (status !== 202 || !answer.id) {
            errors++;
            return;
          }
          accepted++;
          const seen = early.get(answer.id);
          if (seen) {
            early.delete(answer.id);
            record(answer.id, seen.status, seen.at, postedAt);
          } else startedAt.set(answer.id, postedAt);
        },
        () => {
          errors++;
        },
      ),
    );
  }
  await Promise.all(inflight);
  const drainDeadline = performance.now() + 60_000;
  while (startedAt.size > 0 && performance.now() < drainDeadline) await new Promise((r) => setTimeout(r, 100));
  clearInterval(progress);
  subscriber.off('message', onMessage);
  await subscriber.unsubscribe(channel);
  agent.destroy();
  const span = ((lastTerminal || performance.now()) - t0) / 1000;
  return { offeredPerSec: ratePerSec, seconds, sent, accepted, terminal, succeeded, errors, latencies, completedPerSec: terminal / span };
}

function post(agent: Agent, url: string, body: string, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
