import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { api } from '../api/endpoints';
import { errorMessage } from '../api/client';
import type { Sensor } from '../api/schemas';
import { noteCommand } from '../live/live';
import { checkCommand } from '../lib/commands';
import { formatValue } from '../lib/format';

/** How long after an answer a repeated click of the same command counts as the same click (a double click). */
const SAME_CLICK_MS = 2000;

/**
 * Set or add a sensor value. The value is checked against the parameter's bounds before anything is sent; each
 * intended command carries one Idempotency-Key, so a double click (or a retry after a lost answer) is the same
 * command at command-service, never a second one.
 */
export function CommandForm({ deviceId, sensors, sensorId, onSensor }: { deviceId: string; sensors: readonly Sensor[]; sensorId: string; onSensor: (id: string) => void }) {
  const [action, setAction] = useState<'set' | 'add'>('set');
  const [input, setInput] = useState('');
  const [touched, setTouched] = useState(false);
  const [error, setError] = useState<string>();
  const [sending, setSending] = useState(false);
  const attempt = useRef<{ key: string; signature: string; inFlight: boolean; settledAt: number } | undefined>(undefined);
  const ids = useId();
  const sensor = sensors.find((s) => s.id === sensorId) ?? sensors[0];

  useEffect(() => {
    setTouched(false);
    setError(undefined);
  }, [sensorId, action]);

  if (!sensor) return <p className="muted">This device has no sensors to command.</p>;
  const check = checkCommand(action, input, sensor);
  const invalid = touched && !check.ok;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setTouched(true);
    setError(undefined);
    if (!check.ok) return;
    const body = { deviceId, sensorId: sensor.id, action: check.action, value: check.value, ...(check.expectedValue !== undefined ? { expectedValue: check.expectedValue } : {}) };
    const signature = JSON.stringify(body);
    const previous = attempt.current;
    if (previous?.signature === signature && previous.inFlight) return; // the answer to this very click is on its way
    const sameClick = previous?.signature === signature && Date.now() - previous.settledAt < SAME_CLICK_MS;
    const key = sameClick ? previous.key : crypto.randomUUID();
    attempt.current = { key, signature, inFlight: true, settledAt: 0 };
    setSending(true);
    try {
      const command = await api.sendCommand(body, key);
      noteCommand(command);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      attempt.current = { key, signature, inFlight: false, settledAt: Date.now() };
      setSending(false);
    }
  };

  return (
    <form className="card command-form" onSubmit={(e) => void submit(e)} aria-labelledby={`${ids}-title`} noValidate data-testid="command-form">
      <h2 id={`${ids}-title`}>Send a command</h2>
      <label>
        Sensor
        <select value={sensor.id} onChange={(e) => onSensor(e.target.value)} name="sensor">
          {sensors.map((s) => (
            <option key={s.id} value={s.id}>
              {s.parameter}
            </option>
          ))}
        </select>
      </label>
      <fieldset className="radios">
        <legend>Action</legend>
        <label className="check">
          <input type="radio" name="action" value="set" checked={action === 'set'} onChange={() => setAction('set')} /> set to
        </label>
        <label className="check">
          <input type="radio" name="action" value="add" checked={action === 'add'} onChange={() => setAction('add')} /> add
        </label>
      </fieldset>
      <label>
        Value
        <input
          name="value"
          inputMode="decimal"
          autoComplete="off"
          value={input}
          onChange={(e) => setInput(e.target.value)}
          onBlur={() => input && setTouched(true)}
          aria-invalid={invalid}
          aria-describedby={`${ids}-hint${invalid ? ` ${ids}-err` : ''}`}
          data-testid="command-value"
        />
      </label>
      <p id={`${ids}-hint`} className="muted small">
        Allowed {formatValue(sensor.min)} … {formatValue(sensor.max, sensor.unit)}; now {formatValue(sensor.value, sensor.unit)}
        {check.ok && action === 'add' ? ` → ${formatValue(check.target, sensor.unit)}` : ''}
      </p>
      {invalid ? (
        <p id={`${ids}-err`} className="field-error" role="alert" data-testid="command-invalid">
          {check.error}
        </p>
      ) : null}
      {error ? (
        <p className="notice error" role="alert">
          {error}
        </p>
      ) : null}
      <button type="submit" aria-disabled={sending} data-testid="command-send">
        {sending ? 'Sending…' : 'Send'}
      </button>
    </form>
  );
}
