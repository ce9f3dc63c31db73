import { spawnSync } from 'node:child_process';
import path from 'node:path';
import yaml from 'js-yaml';
import { ensureHelm } from '../../../scripts/fetch-helm';
import type { K8sObject } from './k8s-schemas';

export const chartDir = path.resolve(__dirname, '..', '..', 'devicesaga');
export const productionValues = path.join(chartDir, 'values-production.yaml');

export interface HelmResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs helm (fetched on first use, see scripts/fetch-helm.ts) with its own empty config and cache folders. */
export function helm(args: string[]): HelmResult {
  const home = path.join(path.dirname(ensureHelm()), 'home');
  const r = spawnSync(ensureHelm(), args, {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: { PATH: process.env.PATH ?? '', HOME: home, HELM_CONFIG_HOME: path.join(home, 'config'), HELM_CACHE_HOME: path.join(home, 'cache'), HELM_DATA_HOME: path.join(home, 'data') },
  });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface RenderOptions {
  valuesFiles?: string[];
  set?: Record<string, string>;
  release?: string;
  namespace?: string;
}

/** `helm template` of the chart; throws with helm's message when rendering fails. */
export function render(options: RenderOptions = {}): K8sObject[] {
  const r = helm(templateArgs(options));
  if (r.status !== 0) throw new Error(`helm template failed (${String(r.status)}):\n${r.stderr}`);
  return yaml.loadAll(r.stdout).filter((d): d is K8sObject => d !== null && typeof d === 'object');
}

export function templateArgs({ valuesFiles = [], set = {}, release = 'ds', namespace = 'devicesaga' }: RenderOptions): string[] {
  return [
    'template',
    release,
    chartDir,
    '--namespace',
    namespace,
    ...valuesFiles.flatMap((f) => ['--values', f]),
    ...Object.entries(set).flatMap(([k, v]) => ['--set', `${k}=${v}`]),
  ];
}

/** The objects of one kind, by name. */
export function byKind<T extends K8sObject = K8sObject>(objects: K8sObject[], kind: string): Map<string, T> {
  return new Map(objects.filter((o) => o.kind === kind).map((o) => [o.metadata.name, o as T]));
}
