import type { CommandMessage, ReplyMessage, TelemetryMessage } from './protocol';

/** Hardware limits and behaviour of one parameter. */
export interface ParameterSpec {
  initial: number;
  min?: number;
  max?: number;
  /** Only these values are accepted (e.g. a switch). */
  allowed?: number[];
  /** Telemetry noise amplitude (± around the setpoint). */
  noise: number;
  decimals?: number;
}

export interface Profile {
  name: string;
  parameters: Record<string, ParameterSpec>;
  /** For parameters the profile does not list: accepted without limits. */
  fallback: ParameterSpec;
}

export const profiles: Record<string, Profile> = {
  demo: {
    name: 'demo',
    parameters: {
      temperature: { initial: 20, min: -40, max: 70, noise: 0.2, decimals: 2 },
      enabled: { initial: 1, allowed: [0, 1], noise: 0 },
    },
    fallback: { initial: 0, noise: 0 },
  },
};

export function profileByName(name: string): Profile {
  const p = profiles[name];
  if (!p) throw new Error(`unknown profile ${JSON.stringify(name)} (known: ${Object.keys(profiles).join(', ')})`);
  return p;
}

/** Why a value is refused by a parameter's hardware limits, or undefined when it is acceptable. */
export function hardwareRefusal(parameter: string, spec: ParameterSpec, value: number): string | undefined {
  if (spec.allowed && !spec.allowed.includes(value)) return `${parameter} must be ${spec.allowed.join(' or ')}`;
  if (spec.max !== undefined && value > spec.max) return `above hardware limit ${spec.max}`;
  if (spec.min !== undefined && value < spec.min) return `below hardware limit ${spec.min}`;
  return undefined;
}

export type CommandDecision =
  | { kind: 'reply'; reply: ReplyMessage }
  | { kind: 'ignored'; why: 'expired' | 'duplicate' };

export interface DeviceBehaviour {
  profile: Profile;
  /** 0..1: share of valid commands refused anyway ("simulated refusal"). */
  refusalRate: number;
  random?: () => number;
}

const MAX_REMEMBERED = 10_000;

/**
 * One device's state, no I/O: setpoints, answered command ids. Decides the reply to a command (answers each
 * commandId once, ignores one past its expiresAt, applies the profile's hardware limits) and produces telemetry.
 */
export class DeviceState {
  readonly setpoints = new Map<string, number>();
  private readonly answered = new Set<string>();
  private readonly random: () => number;

  constructor(private readonly behaviour: DeviceBehaviour) {
    this.random = behaviour.random ?? Math.random;
    for (const [name, spec] of Object.entries(behaviour.profile.parameters)) this.setpoints.set(name, spec.initial);
  }

  private spec(parameter: string): ParameterSpec {
    return this.behaviour.profile.parameters[parameter] ?? this.behaviour.profile.fallback;
  }

  handle(cmd: CommandMessage, now: Date = new Date()): CommandDecision {
    if (this.answered.has(cmd.commandId)) return { kind: 'ignored', why: 'duplicate' };
    if (new Date(cmd.expiresAt).getTime() <= now.getTime()) return { kind: 'ignored', why: 'expired' };
    this.remember(cmd.commandId);
    const spec = this.spec(cmd.parameter);
    const current = this.setpoints.get(cmd.parameter) ?? spec.initial;
    const target = cmd.action === 'add' ? current + cmd.value : cmd.value;
    const refusal = hardwareRefusal(cmd.parameter, spec, target);
    if (refusal) return { kind: 'reply', reply: { commandId: cmd.commandId, status: 'refused', value: current, reason: refusal } };
    if (this.behaviour.refusalRate > 0 && this.random() < this.behaviour.refusalRate) {
      return { kind: 'reply', reply: { commandId: cmd.commandId, status: 'refused', value: current, reason: 'simulated refusal' } };
    }
    this.setpoints.set(cmd.parameter, target);
    return { kind: 'reply', reply: { commandId: cmd.commandId, status: 'accepted', value: target } };
  }

  /** Current readings: each setpoint with a little noise (none for switches). */
  telemetry(now: Date = new Date()): TelemetryMessage {
    const values: Record<string, number> = {};
    for (const [name, setpoint] of this.setpoints) {
      const spec = this.spec(name);
      const noisy = spec.noise > 0 ? setpoint + (this.random() * 2 - 1) * spec.noise : setpoint;
      const factor = 10 ** (spec.decimals ?? 3);
      values[name] = Math.round(noisy * factor) / factor;
    }
    return { ts: now.toISOString(), values };
  }

  private remember(commandId: string): void {
    this.answered.add(commandId);
    if (this.answered.size > MAX_REMEMBERED) {
      const oldest = this.answered.values().next().value;
      if (oldest !== undefined) this.answered.delete(oldest);
    }
  }
}
