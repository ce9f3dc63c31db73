/**
 * Creates the event catalog's topics (and their dead-letter topics) if missing. Run by `infra/infra.sh up` once Kafka
 * answers; idempotent. Partitions: 6 per saga topic (parallelism for a few replicas per consumer group on a small
 * machine), 2 per DLQ.
 */
import { dlqTopic, topics } from '@devicesaga/contracts';
import { createKafkaClient } from '@devicesaga/platform';

const PARTITIONS = Number(process.env.TOPIC_PARTITIONS ?? 6);

async function main() {
  const client = createKafkaClient('kafkajs', { clientId: 'devicesaga-infra', brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',') });
  try {
    await client.ensureTopics([
      ...topics.map((name) => ({ name, partitions: PARTITIONS })),
      ...topics.map((name) => ({ name: dlqTopic(name), partitions: 2 })),
    ]);
    console.log(`[kafka] topics ready: ${topics.length} catalog topics (${PARTITIONS} partitions each) and their DLQs`);
  } finally {
    await client.close();
  }
}

main().catch((err: unknown) => {
  console.error(`[kafka] creating topics failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
