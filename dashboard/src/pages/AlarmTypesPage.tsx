import { useState, type FormEvent } from 'react';
import { alarmSeverities, type AlarmSeverityName, type AlarmTypeView } from '@devicesaga/contracts';
import { api, type AlarmTypeInput } from '../api/endpoints';
import { errorMessage } from '../api/client';
import type { Me } from '../api/schemas';
import { isOperator } from '../live/session';
import { Link } from '../lib/router';
import { useAsync } from '../lib/use-async';

const blank: AlarmTypeInput = { name: '', parameter: 'temperature', lower: 40, upper: 50, severity: 'MAJOR', hysteresis: 0, minDurationSeconds: 0, deviceGroupId: null };

/** The rules that raise alarms. Everyone reads them; operators create, edit and delete them. */
export function AlarmTypesPage({ me }: { me: Me }) {
  const list = useAsync(() => api.alarmTypes(), []);
  const params = useAsync(() => api.parameters(), []);
  const [editing, setEditing] = useState<{ id: string | null; input: AlarmTypeInput }>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const operator = isOperator(me);

  const save = async (e: FormEvent) => {
    e.preventDefault();
    if (!editing) return;
    const { input } = editing;
    if (!(input.lower <= input.upper)) {
      setError('The lower bound must not be above the upper bound.');
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      if (editing.id) await api.updateAlarmType(editing.id, input);
      else await api.createAlarmType(input);
      setEditing(undefined);
      list.reload();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  const remove = async (t: AlarmTypeView) => {
    if (!window.confirm(`Delete the alarm type “${t.name}”?`)) return;
    setBusy(true);
    try {
      await api.deleteAlarmType(t.id);
      list.reload();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  const set = <K extends keyof AlarmTypeInput>(k: K, v: AlarmTypeInput[K]) => setEditing((e) => (e ? { ...e, input: { ...e.input, [k]: v } } : e));
  const num = (v: string) => (v.trim() === '' ? Number.NaN : Number(v));

  return (
    <div className="page">
      <nav aria-label="Breadcrumb" className="crumbs">
        <Link to="/alarms">Alarms</Link> <span aria-hidden="true">›</span> <span>Alarm types</span>
      </nav>
      <div className="page-head">
        <h1>Alarm types</h1>
        {operator && !editing ? (
          <button type="button" onClick={() => setEditing({ id: null, input: blank })}>
            New alarm type
          </button>
        ) : null}
      </div>
      {!operator ? <p className="muted">Operators edit alarm types; you can read them.</p> : null}
      {list.error || error ? (
        <p className="notice error" role="alert">
          {list.error ?? error}
        </p>
      ) : null}
      {editing ? (
        <form className="card alarm-type-form" onSubmit={(e) => void save(e)} aria-label={editing.id ? 'Edit alarm type' : 'New alarm type'} data-testid="alarm-type-form">
          <label>
            Name
            <input required maxLength={200} value={editing.input.name} onChange={(e) => set('name', e.target.value)} autoFocus />
          </label>
          <label>
            Parameter
            <select value={editing.input.parameter} onChange={(e) => set('parameter', e.target.value)}>
              {(params.data?.items ?? [{ name: editing.input.parameter }]).map((p) => (
                <option key={p.name}>{p.name}</option>
              ))}
            </select>
          </label>
          <label>
            Lower bound
            <input inputMode="decimal" value={Number.isNaN(editing.input.lower) ? '' : editing.input.lower} onChange={(e) => set('lower', num(e.target.value))} />
          </label>
          <label>
            Upper bound
            <input inputMode="decimal" value={Number.isNaN(editing.input.upper) ? '' : editing.input.upper} onChange={(e) => set('upper', num(e.target.value))} />
          </label>
          <label>
            Severity
            <select value={editing.input.severity} onChange={(e) => set('severity', e.target.value as AlarmSeverityName)}>
              {alarmSeverities.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </label>
          <label>
            Hysteresis
            <input inputMode="decimal" value={editing.input.hysteresis} onChange={(e) => set('hysteresis', Math.max(0, num(e.target.value) || 0))} />
          </label>
          <label>
            Minimum duration (s)
            <input inputMode="numeric" value={editing.input.minDurationSeconds} onChange={(e) => set('minDurationSeconds', Math.max(0, num(e.target.value) || 0))} />
          </label>
          <div className="actions">
            <button type="submit" disabled={busy}>
              Save
            </button>
            <button type="button" className="secondary" onClick={() => setEditing(undefined)}>
              Cancel
            </button>
          </div>
        </form>
      ) : null}
      {list.data ? (
        <div className="table-wrap">
          <table data-testid="alarm-types-table">
            <caption className="visually-hidden">Alarm types</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Severity</th>
                <th scope="col">Condition</th>
                <th scope="col">Hysteresis / min. duration</th>
                <th scope="col">Scope</th>
                {operator ? (
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                ) : null}
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((t) => (
                <tr key={t.id} data-testid="alarm-type-row">
                  <th scope="row">{t.name}</th>
                  <td>
                    <span className={`sev sev-${t.severity.toLowerCase()}`}>{t.severity}</span>
                  </td>
                  <td>
                    {t.lower} ≤ {t.parameter} ≤ {t.upper}
                  </td>
                  <td>
                    {t.hysteresis} / {t.minDurationSeconds} s
                  </td>
                  <td>{t.deviceGroupId ? <span className="mono small">group {t.deviceGroupId.slice(0, 8)}</span> : 'all devices'}</td>
                  {operator ? (
                    <td className="row-actions">
                      <button type="button" className="secondary" onClick={() => setEditing({ id: t.id, input: inputOf(t) })} aria-label={`Edit ${t.name}`}>
                        Edit
                      </button>
                      <button type="button" className="secondary danger" disabled={busy} onClick={() => void remove(t)} aria-label={`Delete ${t.name}`}>
                        Delete
                      </button>
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </div>
  );
}

function inputOf(t: AlarmTypeView): AlarmTypeInput {
  return { name: t.name, parameter: t.parameter, lower: t.lower, upper: t.upper, severity: t.severity, hysteresis: t.hysteresis, minDurationSeconds: t.minDurationSeconds, deviceGroupId: t.deviceGroupId };
}
