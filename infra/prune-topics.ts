/**
 * Deletes the Kafka topics that test and benchmark runs leave behind (each run namespaces its topics with a random
 * prefix), keeping the internal topics and the catalog's topics and DLQs of the default stack and of the named stack
 * instances (`test.`, `sagabench.`), which every run reuses. A long-lived development machine otherwise collects
 * thousands of partitions, which slow the broker's start and cost it CPU.
 *
 * Run: npm run infra:prune-topics   (DRY_RUN=1 to list only). Not while a test or benchmark run is going.
 */
import { dlqTopic, topics } from '@devicesaga/contracts';
import { createKafkaClient } from '@devicesaga/platform';

const INSTANCE_PREFIXES = ['', 'test.', 'sagabench.'];

async function main() {
  const client = createKafkaClient('platformatic', { clientId: 'devicesaga-infra', brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',') });
  try {
    const keep = new Set(INSTANCE_PREFIXES.flatMap((prefix) => topics.flatMap((t) => [`${prefix}${t}`, `${prefix}${dlqTopic(t)}`])));
    const all = await client.listTopics();
    const stale = all.filter((name) => !name.startsWith('__') && !keep.has(name)).sort();
    if (process.env.DRY_RUN) {
      for (const name of stale) console.log(name);
      console.log(`[kafka] ${stale.length} of ${all.length} topics would be deleted (DRY_RUN)`);
      return;
    }
    for (let i = 0; i < stale.length; i += 100) await client.deleteTopics(stale.slice(i, i + 100));
    console.log(`[kafka] deleted ${stale.length} leftover test/benchmark topics; ${all.length - stale.length} kept`);
  } finally {
    await client.close();
  }
}

main().catch((err: unknown) => {
  console.error(`[kafka] pruning topics failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
