import { lazy, Suspense, useEffect, useMemo, useRef, useState } from 'react';
import type { CommandViewDto } from '@devicesaga/contracts';
import { api } from '../api/endpoints';
import { ApiError } from '../api/client';
import type { Sensor } from '../api/schemas';
import { CommandForm } from '../components/CommandForm';
import { lastReadingAt, lastUpdatedAt, LiveValue } from '../components/LiveValue';
import { Presence } from '../components/Presence';
import { Timeline } from '../components/Timeline';
import { commands, noteCommand, readings, recent, socketStatus, subscribeDevices } from '../live/live';
import { isTerminal } from '../lib/commands';
import { ago, formatTime, formatValue } from '../lib/format';
import { Link } from '../lib/router';
import { useStore } from '../lib/store';
import { useAsync } from '../lib/use-async';

const TelemetryChart = lazy(() => import('../components/TelemetryChart'));


export function DevicePage({ id }: { id: string }) {
  const device = useAsync(() => api.device(id), [id]);
  const history = useAsync(() => api.commands({ deviceId: id, limit: 10 }), [id]);
  const [sensorId, setSensorId] = useState<string>();
  /** The value each compensated command restored, as this page saw it (the sensor's value after the outcome). */
  const [restoredSeen, setRestoredSeen] = useState<Readonly<Record<string, number | null>>>({});
  const live = useStore(readings);
  const status = useStore(socketStatus);
  const all = useStore(commands);
  const notifications = useStore(recent);

  useEffect(() => subscribeDevices([id]), [id]);
  useEffect(() => {
    for (const c of history.data?.items ?? []) noteCommand(c);
  }, [history.data]);

  const mine = useMemo(
    () =>
      Object.values(all)
        .filter((c) => c.deviceId === id)
        .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
        .slice(0, 10),
    [all, id],
  );
  useLongPollFallback(status !== 'open', mine);

  // A saga step moves the stored value (applied at APPROVED, restored at COMPENSATED): reload the device when a
  // command on it moves, however the dashboard learned of it (a WebSocket frame or the long-poll).
  const reloadDevice = device.reload;
  const steps = mine.map((c) => `${c.id}:${c.status}`).join(',');
  const seenSteps = useRef<string | undefined>(undefined);
  const compensated = useRef(new Set<string>());
  useEffect(() => {
    if (seenSteps.current === undefined) {
      seenSteps.current = steps;
      return;
    }
    if (seenSteps.current === steps) return;
    const before = new Set(seenSteps.current.split(','));
    seenSteps.current = steps;
    for (const step of steps.split(',')) {
      if (!before.has(step) && step.endsWith(':COMPENSATED')) compensated.current.add(step.slice(0, step.indexOf(':')));
    }
    const t = setTimeout(reloadDevice, 100);
    return () => clearTimeout(t);
  }, [steps, reloadDevice]);
  useEffect(() => {
    if (!device.data || compensated.current.size === 0) return;
    const seen: Record<string, number | null> = {};
    for (const commandId of compensated.current) {
      const c = commands.get()[commandId];
      const s = device.data.sensors.find((x) => x.id === c?.sensorId);
      if (s) seen[commandId] = s.value;
    }
    compensated.current.clear();
    setRestoredSeen((r) => ({ ...r, ...seen }));
  }, [device.data]);

  if (device.error && !device.data) {
    return (
      <div className="page">
        <p className="notice error" role="alert" data-testid="device-error">
          {device.errorStatus === 404 ? 'This device does not exist, or you may not see it.' : device.error}
        </p>
        <Link to="/">Back to devices</Link>
      </div>
    );
  }
  const d = device.data;
  if (!d) return <p className="page muted">Loading device…</p>;
  const selected: Sensor | undefined = d.sensors.find((s) => s.id === sensorId) ?? d.sensors.find((s) => s.parameter === 'temperature') ?? d.sensors[0];
  const last = lastReadingAt(d.sensors, live);

  return (
    <div className="page device-page">
      <nav aria-label="Breadcrumb" className="crumbs">
        <Link to="/">Devices</Link> <span aria-hidden="true">›</span> <span>{d.name}</span>
      </nav>
      <div className="page-head">
        <h1 data-testid="device-name">{d.name}</h1>
        <Presence deviceId={d.id} lastReadingAt={last} />
        <span className="muted small">
          {last ? `last reading ${ago(last)}` : `updated ${ago(lastUpdatedAt(d.sensors))}`} · <span className="mono">{d.id}</span>
        </span>
      </div>
      <div className="device-grid">
        <section aria-labelledby="sensors-title" className="sensors">
          <h2 id="sensors-title">Sensors</h2>
          <ul className="sensor-cards">
            {d.sensors.map((s) => (
              <li key={s.id}>
                <button
                  type="button"
                  className={`sensor-card${selected?.id === s.id ? ' selected' : ''}`}
                  aria-pressed={selected?.id === s.id}
                  onClick={() => setSensorId(s.id)}
                  data-testid={`sensor-${s.parameter}`}
                >
                  <span className="sensor-name">{s.parameter}</span>
                  <LiveValue sensor={s} />
                  <span className="muted small">
                    bounds {formatValue(s.min)} … {formatValue(s.max, s.unit)}
                  </span>
                  <span className="muted small">updated {formatTime(live[s.id]?.ts ?? s.updatedAt)}</span>
                </button>
              </li>
            ))}
          </ul>
          {selected ? <CommandForm deviceId={d.id} sensors={d.sensors} sensorId={selected.id} onSensor={setSensorId} /> : null}
        </section>
        <section aria-labelledby="telemetry-title" className="telemetry">
          <h2 id="telemetry-title">Telemetry</h2>
          {selected ? (
            <Suspense fallback={<p className="muted">Loading chart…</p>}>
              <TelemetryChart key={selected.id} deviceId={d.id} sensorId={selected.id} parameter={selected.parameter} unit={selected.unit} />
            </Suspense>
          ) : (
            <p className="muted">No sensors.</p>
          )}
        </section>
        <section aria-labelledby="commands-title" className="commands">
          <h2 id="commands-title">Commands</h2>
          {history.error ? <p className="notice error">{history.error}</p> : null}
          {mine.length === 0 && !history.loading ? <p className="muted">No commands yet.</p> : null}
          <div className="command-list" data-testid="command-list" aria-live="polite">
            {mine.map((c) => {
              const s = d.sensors.find((x) => x.id === c.sensorId);
              return <Timeline key={c.id} command={c} unit={s?.unit} restoredValue={restoredValueOf(c, notifications, restoredSeen)} />;
            })}
          </div>
        </section>
      </div>
    </div>
  );
}

/** The value a compensation restored: from its notification (dm.value_set_error's restoredValue) or as seen live. */
function restoredValueOf(
  c: CommandViewDto,
  notifications: readonly { payload: Record<string, unknown> }[],
  seen: Readonly<Record<string, number | null>>,
): number | null | undefined {
  if (c.status !== 'COMPENSATED') return undefined;
  for (const n of notifications) {
    if (n.payload.commandId === c.id && (typeof n.payload.restoredValue === 'number' || n.payload.restoredValue === null)) return n.payload.restoredValue;
  }
  return seen[c.id];
}

/**
 * While the WebSocket is not open, follow the unfinished commands on screen with command-service's long-poll
 * (`?wait=&after=version`), so a timeline never stalls; the socket's command frames take over when it is back.
 */
function useLongPollFallback(active: boolean, shown: readonly CommandViewDto[]) {
  const open = useMemo(() => shown.filter((c) => !isTerminal(c.status)).map((c) => c.id).join(','), [shown]);
  useEffect(() => {
    if (!active || !open) return;
    const controller = new AbortController();
    for (const commandId of open.split(',')) {
      void (async () => {
        while (!controller.signal.aborted) {
          const known = commands.get()[commandId];
          try {
            const c = await api.command(commandId, { seconds: 25, after: known?.version ?? 0 }, controller.signal);
            noteCommand(c);
            if (isTerminal(c.status)) return;
          } catch (err) {
            if (controller.signal.aborted || (err instanceof ApiError && err.status === 404)) return;
            await new Promise((r) => setTimeout(r, 2000));
          }
        }
      })();
    }
    return () => controller.abort();
  }, [active, open]);
}
