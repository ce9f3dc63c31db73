/**
 * The chart's Kafka topics and users against the code: a KafkaTopic for every topic of the event catalog
 * (packages/contracts) and its dead-letter topic; the producer of each topic as the catalog names it; and in
 * production (SCRAM + ACLs) each service's KafkaUser may write what it produces and read what its handler map
 * consumes — the handler maps are taken from the services' code, so a new handler without an ACL fails here.
 */
import { catalog, dlqTopic, topics } from '@devicesaga/contracts';
import { byKind, productionValues, render } from './support/helm';
import type { K8sObject } from './support/k8s-schemas';
import { consumedTopicsInCode } from './support/service-handlers';

type KafkaTopic = K8sObject & { spec: { topicName: string; partitions: number; replicas: number; config: Record<string, unknown> } };
interface Acl {
  resource: { type: string; name?: string; patternType?: string };
  operations: string[];
}
type KafkaUser = K8sObject & { spec: { authentication: { type: string }; authorization: { type: string; acls: Acl[] } } };

const fullname = 'ds-devicesaga';

describe('Kafka topics and users in the chart', () => {
  const production = render({ valuesFiles: [productionValues] });
  const defaults = render();

  it('declares every catalog topic and its .dlq, with partitions, replicas and retention', () => {
    for (const objects of [defaults, production]) {
      const declared = [...byKind<KafkaTopic>(objects, 'KafkaTopic').values()];
      expect(declared.map((t) => t.spec.topicName).sort()).toEqual([...topics, ...topics.map(dlqTopic)].sort());
      for (const t of declared) {
        expect(t.spec.partitions).toBeGreaterThanOrEqual(1);
        expect(Number(t.spec.config['retention.ms'])).toBeGreaterThanOrEqual(7 * 24 * 3600 * 1000);
      }
    }
    const prodTopics = byKind<KafkaTopic>(production, 'KafkaTopic');
    expect([...prodTopics.values()].every((t) => t.spec.replicas === 3 && t.spec.config['min.insync.replicas'] === 2)).toBe(true);
  });

  it('names the producer of each topic as the event catalog does', () => {
    const topicsByName = new Map([...byKind<KafkaTopic>(defaults, 'KafkaTopic').values()].map((t) => [t.spec.topicName, t]));
    for (const topic of topics) expect(topicsByName.get(topic)?.metadata.annotations?.['devicesaga.io/producer']).toBe(catalog[topic].producer);
  });

  it('renders no KafkaUser without authentication, one per service with SCRAM-SHA-512 in production', () => {
    expect(byKind(defaults, 'KafkaUser').size).toBe(0);
    const users = byKind<KafkaUser>(production, 'KafkaUser');
    expect(users.size).toBe(7);
    for (const u of users.values()) expect(u.spec.authentication.type).toBe('scram-sha-512');
    const kafka = [...byKind<K8sObject & { spec: { kafka: { authorization?: { type: string }; listeners: { authentication?: { type: string } }[] } } }>(production, 'Kafka').values()][0]!;
    expect(kafka.spec.kafka.authorization).toEqual({ type: 'simple' });
    expect(kafka.spec.kafka.listeners.every((l) => l.authentication?.type === 'scram-sha-512')).toBe(true);
  });

  it('lets each service write exactly the topics the catalog says it produces', () => {
    for (const [id, user] of byKind<KafkaUser>(production, 'KafkaUser')) {
      const service = id.slice(fullname.length + 1);
      const writes = user.spec.authorization.acls
        .filter((a) => a.resource.type === 'topic' && a.operations.includes('Write') && !a.resource.name!.endsWith('.dlq'))
        .map((a) => a.resource.name)
        .sort();
      expect(writes).toEqual(topics.filter((t) => catalog[t].producer === service).sort());
    }
  });

  it("lets each service read every topic its handler map consumes, with its consumer group, and dead-letter it", async () => {
    const inCode = await consumedTopicsInCode();
    expect(Object.keys(inCode).sort()).toEqual(['adapter', 'command-service', 'device-service']);
    const users = byKind<KafkaUser>(production, 'KafkaUser');
    for (const [service, consumed] of Object.entries(inCode)) {
      const acls = users.get(`${fullname}-${service}`)!.spec.authorization.acls;
      const reads = acls.filter((a) => a.resource.type === 'topic' && a.operations.includes('Read')).map((a) => a.resource.name);
      const dlqWrites = acls.filter((a) => a.resource.type === 'topic' && a.operations.includes('Write') && a.resource.name!.endsWith('.dlq')).map((a) => a.resource.name);
      expect(consumed.length).toBeGreaterThan(0);
      expect(reads).toEqual(expect.arrayContaining(consumed));
      expect(dlqWrites).toEqual(expect.arrayContaining(consumed.map(dlqTopic)));
      expect(acls).toContainEqual({ resource: { type: 'group', name: service, patternType: 'literal' }, operations: ['Read'] });
    }
  });
});
