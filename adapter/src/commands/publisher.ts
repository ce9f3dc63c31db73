import type { MqttClient } from 'mqtt';
import { commandOriginProperty, topicsUnder, type DeviceCommandMessage } from '@devicesaga/contracts';
import type { Logger } from '@devicesaga/platform';
import type { PendingCommand } from '../db/entities';

/** Publishes commands to devices: `devices/<id>/commands`, QoS 1, never waiting for the broker's PUBACK. */
export class CommandPublisher {
  readonly stats = { published: 0, republished: 0, failed: 0 };
  private readonly properties;
  private readonly topics;

  constructor(
    private readonly client: () => MqttClient | undefined,
    origin: string,
    topicRoot: string,
    private readonly logger: Logger,
  ) {
    this.properties = { userProperties: { [commandOriginProperty]: origin } };
    this.topics = topicsUnder(topicRoot);
  }

  /**
   * Publishes each command (mqtt.js queues it while the connection is down and sends it on reconnect). `republish`:
   * a command sent before (a restart, a device back online, a redelivered approval); devices answer a commandId once.
   */
  send(commands: PendingCommand[], republish = false): void {
    const client = this.client();
    if (!client) throw new Error('the adapter is not connected to MQTT');
    for (const cmd of commands) {
      const message: DeviceCommandMessage = {
        commandId: cmd.commandId,
        sensorId: cmd.sensorId,
        parameter: cmd.parameter,
        // device-service has already resolved `add` against the stored value (compare-and-add on expectedValue), so
        // the approved value is the absolute target: the device is told to set it, whatever it believes its value is.
        action: 'set',
        value: cmd.value,
        expiresAt: cmd.expiresAt.toISOString(),
      };
      client.publish(this.topics.commands(cmd.deviceId), JSON.stringify(message), { qos: 1, properties: this.properties }, (err) => {
        if (err) {
          this.stats.failed++;
          this.logger.error({ err, commandId: cmd.commandId, deviceId: cmd.deviceId }, 'command publish failed');
        }
      });
      if (republish) this.stats.republished++;
      else this.stats.published++;
      this.logger.debug({ commandId: cmd.commandId, deviceId: cmd.deviceId, republish }, 'command published');
    }
  }
}
