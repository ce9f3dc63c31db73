import { presence } from '../live/live';
import { ago } from '../lib/format';
import { useStore } from '../lib/store';

/**
 * Online / offline as the push-service reports it (`device` frames). Before a frame for the device arrived, the
 * live measurements stand in: a device whose reading arrived over the WebSocket within a minute is shown as reporting.
 */
export function Presence({ deviceId, lastReadingAt }: { deviceId: string; lastReadingAt?: string | undefined }) {
  const known = useStore(presence, (p) => p[deviceId]);
  if (known) {
    return (
      <span className={`pill ${known.online ? 'ok' : 'off'}`} data-testid="presence" title={`since ${new Date(known.at).toLocaleString()}`}>
        {known.online ? 'online' : 'offline'}
      </span>
    );
  }
  const recent = lastReadingAt !== undefined && Date.now() - Date.parse(lastReadingAt) < 60_000;
  return (
    <span className={`pill ${recent ? 'ok' : 'unknown'}`} data-testid="presence" title={lastReadingAt ? `last reading ${ago(lastReadingAt)}` : 'no status or reading received yet'}>
      {recent ? 'reporting' : 'no status'}
    </span>
  );
}
