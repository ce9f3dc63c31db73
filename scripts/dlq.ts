/**
 * `npm run dlq -- <command>`: the operators' DLQ tool (for when the admin API is not reachable; it needs the
 * cluster's Kafka, so only operators can run it).
 *   list [<dlq topic>]                         every dead-lettered message with its group and error
 *   redrive <dlq topic> <partition> <offset>   send one back to its original topic (after fixing the cause)
 *   redrive-all <dlq topic>                    send all of a DLQ topic back and remove them from it
 *   purge <dlq topic>                          delete everything in a DLQ topic
 * Env: KAFKA_BROKERS (default 127.0.0.1:9092), TOPIC_PREFIX (a stack instance's namespace, e.g. "test.").
 */
import { DlqAdmin } from '@devicesaga/platform';

async function main(): Promise<number> {
  const [command, topic, partition, offset] = process.argv.slice(2);
  const admin = new DlqAdmin({ brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','), topicPrefix: process.env.TOPIC_PREFIX ?? '' });
  switch (command ?? '') {
    case 'list': {
      const messages = await admin.list(topic);
      for (const m of messages) {
        console.log(`${m.dlqTopic} ${m.partition}@${m.offset}  group=${m.group}  ${m.type ?? '(undecodable)'} ${m.messageId ?? ''}  at=${m.at}\n    ${m.error}`);
      }
      console.log(`${messages.length} message(s) in ${topic ?? `${(await admin.topics()).length} DLQ topic(s)`}`);
      return 0;
    }
    case 'redrive':
      if (!topic || partition === undefined || offset === undefined) break;
      console.log(`redriven: ${await admin.redrive({ dlqTopic: topic, partition: Number(partition), offset })}`);
      return 0;
    case 'redrive-all':
      if (!topic) break;
      console.log(`redriven: ${await admin.redrive({ dlqTopic: topic, all: true })}`);
      return 0;
    case 'purge':
      if (!topic) break;
      await admin.purge(topic);
      console.log(`purged ${topic}`);
      return 0;
    default:
      break;
  }
  console.error('usage: npm run dlq -- list [<dlq topic>] | redrive <dlq topic> <partition> <offset> | redrive-all <dlq topic> | purge <dlq topic>');
  return 2;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
