/**
 * values.schema.json makes bad values fail at `helm install` (and `helm template`) before anything reaches the
 * cluster: each case below is one plausible mistake, and helm must refuse it naming the value at fault.
 */
import { helm, productionValues, templateArgs } from './support/helm';

const rejected: [string, Record<string, string>, RegExp][] = [
  ['a port that is not a number', { 'services.gateway.port': 'http' }, /services\/gateway\/port.*want integer/],
  ['a misspelt key', { 'services.gateway.replicsa': '2' }, /additional properties 'replicsa' not allowed/],
  ['an unknown service', { 'services.billing-service.enabled': 'true' }, /additional properties 'billing-service' not allowed/],
  ['an unknown Kafka mode', { 'kafka.mode': 'zookeeper' }, /kafka\/mode.*must be one of/],
  ['an unknown Kafka authentication', { 'kafka.strimzi.authentication': 'plain' }, /kafka\/strimzi\/authentication.*must be one of/],
  ['a bus client that does not exist', { kafkaClient: 'rdkafka' }, /kafkaClient.*must be one of/],
  ['a backup schedule that is not a 6-field cron', { 'postgresql.cnpg.backup.schedule': '@daily' }, /backup\/schedule.*does not match pattern/],
  ['a recovery target that is not a timestamp', { 'postgresql.cnpg.recovery.targetTime': 'yesterday' }, /recovery\/targetTime.*does not match pattern/],
  ['an environment override of a managed variable', { 'services.gateway.env.DATABASE_PASSWORD': 'x' }, /invalid propertyName 'DATABASE_PASSWORD'/],
  ['pods allowed to run as root', { 'podSecurityContext.runAsNonRoot': 'false' }, /podSecurityContext\/runAsNonRoot.*value must be true/],
  ['TLS on without a certificate Secret', { 'ingress.tls.enabled': 'true' }, /ingress\/tls\/secretName.*minLength/],
  ['a topic with no producer', { 'kafka.topics.catalog.command\\.value_set.producer': 'nobody' }, /producer.*must be one of/],
  ['zero partitions', { 'kafka.topics.partitions': '0' }, /kafka\/topics\/partitions.*minimum/],
];

describe('values.schema.json', () => {
  it.each(rejected)('refuses %s', (_what, set, message) => {
    const r = helm(templateArgs({ set }));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/values don't meet the specifications of the schema/);
    expect(r.stderr).toMatch(message);
  });

  it('accepts the default values and values-production.yaml', () => {
    expect(helm(templateArgs({})).status).toBe(0);
    expect(helm(templateArgs({ valuesFiles: [productionValues] })).status).toBe(0);
  });

  it('refuses external PostgreSQL without the credentials Secret of each service database (a template check)', () => {
    const r = helm(templateArgs({ set: { 'postgresql.mode': 'external' } }));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/postgresql\.external\.existingSecrets\.\S+: the Secret with username and password/);
  });
});
