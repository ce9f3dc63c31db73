import { createKafkaClient } from '../../src/bus';
import { adapters, brokers, logger, uid, waitFor } from './helpers';

jest.setTimeout(60_000);

describe.each(adapters)('topic administration over %s', (adapter) => {
  it('creates, lists and deletes topics', async () => {
    const client = createKafkaClient(adapter, { clientId: `admin-${uid()}`, brokers, logger });
    const names = [`adm${uid()}.a`, `adm${uid()}.b`];
    try {
      await client.ensureTopics(names.map((name) => ({ name, partitions: 1 })));
      expect(await client.listTopics()).toEqual(expect.arrayContaining(names));
      await client.deleteTopics(names);
      await waitFor('the topics to be gone', async () => {
        const left = await client.listTopics();
        return names.every((n) => !left.includes(n));
      });
    } finally {
      await client.close();
    }
  });
});
