import { useEffect, useMemo, useState } from 'react';
import { alarmSeverities, type AlarmSeverityName, type AlarmView } from '@devicesaga/contracts';
import { api } from '../api/endpoints';
import { errorMessage } from '../api/client';
import { onFrame } from '../live/live';
import { formatTime, formatValue } from '../lib/format';
import { Link, setQueryParams, useQueryParam } from '../lib/router';
import { useAsync } from '../lib/use-async';

const views = {
  active: { label: 'Active', statuses: ['ACTIVE_UNACK', 'ACTIVE_ACK'] },
  cleared: { label: 'Cleared', statuses: ['CLEARED_UNACK', 'CLEARED_ACK'] },
  all: { label: 'All', statuses: [] },
} as const;
type ViewId = keyof typeof views;

const severityRank = (s: AlarmSeverityName) => alarmSeverities.indexOf(s);

/** Alarms by severity (colour), live: acknowledge and clear are independent, as in the IoT platforms people know. */
export function AlarmsPage() {
  const viewParam = useQueryParam('view');
  const view: ViewId = viewParam === 'cleared' || viewParam === 'all' ? viewParam : 'active';
  const severityParam = useQueryParam('severity');
  const severity = alarmSeverities.find((s) => s === severityParam);
  const list = useAsync(() => api.alarms({ ...(view === 'all' ? {} : { status: views[view].statuses.join(',') }), ...(severity ? { severity } : {}), limit: 200 }), [view, severity]);
  const [rows, setRows] = useState<AlarmView[]>([]);
  // Device names for the rows (the first 200 devices; others show their id).
  const devices = useAsync(() => api.devices({ limit: 200 }), []);
  const names = useMemo(() => new Map((devices.data?.items ?? []).map((d) => [d.id, d.name])), [devices.data]);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState<string>();

  useEffect(() => setRows(list.data?.items ?? []), [list.data]);
  // Live: an alarm raised or cleared on one of the user's devices reloads the list (the frame carries the event,
  // the list has the alarm's whole state: occurrences, acknowledgement).
  const reload = list.reload;
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const off = onFrame((f) => {
      if (f.type !== 'alarm') return;
      clearTimeout(timer);
      timer = setTimeout(reload, 200);
    });
    return () => {
      off();
      clearTimeout(timer);
    };
  }, [reload]);

  const sorted = useMemo(() => [...rows].sort((a, b) => severityRank(a.severity) - severityRank(b.severity) || b.lastSeenAt.localeCompare(a.lastSeenAt)), [rows]);
  const counts = useMemo(() => {
    const c: Record<string, number> = {};
    for (const a of rows) c[a.severity] = (c[a.severity] ?? 0) + 1;
    return c;
  }, [rows]);

  const act = async (alarm: AlarmView, what: 'ack' | 'clear') => {
    setBusy(`${alarm.id}:${what}`);
    setError(undefined);
    try {
      const updated = what === 'ack' ? await api.ackAlarm(alarm.id) : await api.clearAlarm(alarm.id);
      const fits = view === 'all' || (views[view].statuses as readonly string[]).includes(updated.status);
      setRows((all) => (fits ? all.map((x) => (x.id === updated.id ? updated : x)) : all.filter((x) => x.id !== updated.id)));
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(undefined);
    }
  };

  return (
    <div className="page">
      <div className="page-head">
        <h1>Alarms</h1>
        <Link to="/alarm-types">Alarm types</Link>
      </div>
      <div className="toolbar">
        <div className="segmented" role="group" aria-label="Alarm state">
          {(Object.keys(views) as ViewId[]).map((v) => (
            <button key={v} type="button" aria-pressed={v === view} onClick={() => setQueryParams({ view: v === 'active' ? null : v })}>
              {views[v].label}
            </button>
          ))}
        </div>
        <div className="segmented" role="group" aria-label="Severity">
          <button type="button" aria-pressed={!severity} onClick={() => setQueryParams({ severity: null })}>
            Any severity
          </button>
          {alarmSeverities.map((s) => (
            <button key={s} type="button" aria-pressed={severity === s} onClick={() => setQueryParams({ severity: s })} className={`sev-btn sev-${s.toLowerCase()}`}>
              {s.toLowerCase()} {counts[s] ? <span className="count">{counts[s]}</span> : null}
            </button>
          ))}
        </div>
      </div>
      {list.error || error ? (
        <p className="notice error" role="alert">
          {list.error ?? error}
        </p>
      ) : null}
      {list.loading && rows.length === 0 ? <p className="muted">Loading alarms…</p> : null}
      {!list.loading && sorted.length === 0 ? <p className="empty">No {view === 'all' ? '' : `${views[view].label.toLowerCase()} `}alarms.</p> : null}
      {sorted.length > 0 ? (
        <div className="table-wrap">
          <table className="alarms" data-testid="alarms-table">
            <caption className="visually-hidden">Alarms, most severe first</caption>
            <thead>
              <tr>
                <th scope="col">Severity</th>
                <th scope="col">Alarm</th>
                <th scope="col">Device</th>
                <th scope="col">Values</th>
                <th scope="col">Count</th>
                <th scope="col">Raised / last seen</th>
                <th scope="col">State</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {sorted.map((a) => (
                <tr key={a.id} className={`sev-row sev-${a.severity.toLowerCase()}`} data-testid="alarm-row" data-alarm-id={a.id} data-status={a.status} data-device-id={a.deviceId}>
                  <td>
                    <span className={`sev sev-${a.severity.toLowerCase()}`}>{a.severity}</span>
                  </td>
                  <th scope="row">
                    {a.name}
                    <div className="muted small">{a.parameter}</div>
                  </th>
                  <td>
                    <Link to={`/devices/${a.deviceId}`} className={names.has(a.deviceId) ? undefined : 'mono small'}>
                      {names.get(a.deviceId) ?? a.deviceId.slice(0, 8)}
                    </Link>
                  </td>
                  <td>
                    first {formatValue(a.firstValue)}, last {formatValue(a.lastValue)}
                  </td>
                  <td data-testid="alarm-occurrences">{a.occurrences}</td>
                  <td className="small">
                    {formatTime(a.raisedAt)}
                    <br />
                    {formatTime(a.lastSeenAt)}
                  </td>
                  <td>
                    <span className="pill" data-testid="alarm-status">
                      {a.status.startsWith('ACTIVE') ? 'active' : 'cleared'}, {a.status.endsWith('_ACK') ? 'acknowledged' : 'unacknowledged'}
                    </span>
                  </td>
                  <td className="row-actions">
                    {a.status.endsWith('UNACK') ? (
                      <button type="button" disabled={busy !== undefined} onClick={() => void act(a, 'ack')} aria-label={`Acknowledge ${a.name} on ${names.get(a.deviceId) ?? a.deviceId.slice(0, 8)}`}>
                        Acknowledge
                      </button>
                    ) : null}
                    {a.status.startsWith('ACTIVE') ? (
                      <button type="button" className="secondary" disabled={busy !== undefined} onClick={() => void act(a, 'clear')} aria-label={`Clear ${a.name} on ${names.get(a.deviceId) ?? a.deviceId.slice(0, 8)}`}>
                        Clear
                      </button>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </div>
  );
}
