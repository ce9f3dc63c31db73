import path from 'node:path';

const root = path.resolve(__dirname, '..', '..', '..');

/**
 * The topics each service consumes, read from its typed handler map (the object its consumer is started with), for
 * the services whose handlers exist. Building a map only wires closures: the dependencies are never called.
 */
export async function consumedTopicsInCode(): Promise<Record<string, string[]>> {
  const unused = new Proxy({}, { get: () => () => undefined });
  const load = <T extends object>(file: string) => jest.requireActual<T>(path.join(root, file));
  const command = load<{ createHandlers(track: unknown): object }>('command-service/src/handlers/index.ts');
  const device = load<{ createHandlers(deps: unknown): object }>('device-service/src/handlers/index.ts');
  const adapter = load<{ adapterHandlers(sender: unknown): object }>('adapter/src/handlers/index.ts');
  return Promise.resolve({
    'command-service': Object.keys(command.createHandlers(unused)).sort(),
    'device-service': Object.keys(device.createHandlers({ settings: unused, enqueue: unused })).sort(),
    adapter: Object.keys(adapter.adapterHandlers(unused)).sort(),
  });
}
