import { useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { api } from '../api/endpoints';
import { errorMessage } from '../api/client';
import type { CreatedDevice, Device } from '../api/schemas';
import { lastReadingAt, LiveValue } from '../components/LiveValue';
import { Presence } from '../components/Presence';
import { onFrame, readings, subscribeDevices } from '../live/live';
import { Link, setQueryParams, useQueryParam } from '../lib/router';
import { useStore } from '../lib/store';
import { useAsync } from '../lib/use-async';

const PAGE = 20;
/** Search walks the caller's devices in pages of 200 (device-service has no name filter yet), up to this many. */
const SEARCH_CAP = 5000;

interface Listing {
  items: Device[];
  /** Cursor paging (no search) or the page of the client-side search results. */
  nextCursor: string | null;
  total?: number;
  truncated?: boolean;
}

export function DevicesPage() {
  const q = useQueryParam('q') ?? '';
  const [term, setTerm] = useState(q);
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [searchPage, setSearchPage] = useState(0);
  const [created, setCreated] = useState<CreatedDevice>();
  const page = cursors.length - 1;
  const cursor = cursors[page] ?? null;

  // Debounced search term into the URL (so it survives a reload and can be shared).
  useEffect(() => {
    const t = setTimeout(() => {
      if (term.trim() !== q) {
        setQueryParams({ q: term.trim() || null });
        setCursors([null]);
        setSearchPage(0);
      }
    }, 250);
    return () => clearTimeout(t);
  }, [term, q]);

  const searchResults = useAsync<Device[] | null>(async () => (q ? searchDevices(q) : null), [q]);
  const pageResult = useAsync<Listing | null>(async () => (q ? null : api.devices({ limit: PAGE, cursor })), [q, cursor]);

  const listing: Listing | undefined = useMemo(() => {
    if (q) {
      const all = searchResults.data;
      if (!all) return undefined;
      const items = all.slice(searchPage * PAGE, (searchPage + 1) * PAGE);
      return { items, nextCursor: (searchPage + 1) * PAGE < all.length ? 'more' : null, total: all.length, truncated: all.length >= SEARCH_CAP };
    }
    return pageResult.data ?? undefined;
  }, [q, searchResults.data, searchPage, pageResult.data]);
  const state = q ? searchResults : pageResult;

  // Live values of the devices on screen; a command outcome on one of them reloads the page (the stored values moved).
  const ids = useMemo(() => listing?.items.map((d) => d.id) ?? [], [listing]);
  useEffect(() => subscribeDevices(ids), [ids]);
  const reload = state.reload;
  const reloadTimer = useRef<ReturnType<typeof setTimeout>>(undefined);
  useEffect(() => {
    const onPage = new Set(ids);
    const off = onFrame((f) => {
      if (f.type === 'command' && onPage.has(f.command.deviceId) && f.command.status !== 'PENDING') {
        clearTimeout(reloadTimer.current);
        reloadTimer.current = setTimeout(reload, 300);
      }
    });
    return () => {
      off();
      clearTimeout(reloadTimer.current);
    };
  }, [ids, reload]);

  const hasPrev = q ? searchPage > 0 : page > 0;
  const hasNext = listing?.nextCursor !== null && listing?.nextCursor !== undefined;
  const prev = () => (q ? setSearchPage((p) => p - 1) : setCursors((c) => c.slice(0, -1)));
  const next = () => {
    if (q) setSearchPage((p) => p + 1);
    else if (listing?.nextCursor) setCursors((c) => [...c, listing.nextCursor]);
  };

  return (
    <div className="page">
      <div className="page-head">
        <h1>Devices</h1>
        <NewDevice
          onCreated={(d) => {
            setCreated(d);
            state.reload();
          }}
        />
      </div>
      {created ? <Credentials device={created} onClose={() => setCreated(undefined)} /> : null}
      <div className="toolbar">
        <label className="search">
          <span className="visually-hidden">Search devices</span>
          <input type="search" placeholder="Search by name or id" value={term} onChange={(e) => setTerm(e.target.value)} data-testid="device-search" />
        </label>
        {q && listing ? (
          <span className="muted" role="status">
            {listing.total} match{listing.total === 1 ? '' : 'es'}
            {listing.truncated ? ` (first ${SEARCH_CAP} devices searched)` : ''}
          </span>
        ) : null}
      </div>
      {state.error ? (
        <p className="notice error" role="alert">
          {state.error} <button onClick={state.reload}>Retry</button>
        </p>
      ) : null}
      {!listing && state.loading ? <p className="muted">Loading devices…</p> : null}
      {listing && listing.items.length === 0 ? (
        <p className="empty" data-testid="no-devices">
          {q ? `No device matches “${q}”.` : 'No devices yet. Create one to connect it over MQTT.'}
        </p>
      ) : null}
      {listing && listing.items.length > 0 ? (
        <div className="table-wrap">
          <table className="devices" data-testid="devices-table">
            <caption className="visually-hidden">Your devices with their current values</caption>
            <thead>
              <tr>
                <th scope="col">Device</th>
                <th scope="col">Status</th>
                <th scope="col">Current values</th>
              </tr>
            </thead>
            <tbody>
              {listing.items.map((d) => (
                <DeviceRow key={d.id} device={d} />
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <nav className="pager" aria-label="Device pages">
        <button type="button" className="secondary" disabled={!hasPrev} onClick={prev}>
          ← Previous
        </button>
        <span className="muted">Page {(q ? searchPage : page) + 1}</span>
        <button type="button" className="secondary" disabled={!hasNext} onClick={next}>
          Next →
        </button>
      </nav>
    </div>
  );
}

function DeviceRow({ device }: { device: Device }) {
  const live = useStore(readings);
  return (
    <tr data-testid="device-row" data-device-id={device.id}>
      <th scope="row">
        <Link to={`/devices/${device.id}`}>{device.name}</Link>
        <div className="muted mono small">{device.id.slice(0, 8)}</div>
      </th>
      <td>
        <Presence deviceId={device.id} lastReadingAt={lastReadingAt(device.sensors, live)} />
      </td>
      <td>
        <ul className="values">
          {device.sensors.map((s) => (
            <li key={s.id}>
              <span className="muted">{s.parameter}</span> <LiveValue sensor={s} />
            </li>
          ))}
        </ul>
      </td>
    </tr>
  );
}

async function searchDevices(term: string): Promise<Device[]> {
  const needle = term.toLowerCase();
  const found: Device[] = [];
  let cursor: string | null = null;
  let seen = 0;
  do {
    const page = await api.devices({ limit: 200, cursor });
    seen += page.items.length;
    found.push(...page.items.filter((d) => d.name.toLowerCase().includes(needle) || d.id.startsWith(needle)));
    cursor = page.nextCursor;
  } while (cursor && seen < SEARCH_CAP);
  return found.sort((a, b) => a.name.localeCompare(b.name));
}

function NewDevice({ onCreated }: { onCreated: (d: CreatedDevice) => void }) {
  const [open, setOpen] = useState(false);
  const [name, setName] = useState('');
  const [chosen, setChosen] = useState<Set<string>>(new Set(['temperature', 'enabled']));
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const parameters = useAsync(() => (open ? api.parameters() : Promise.resolve(null)), [open]);

  if (!open) {
    return (
      <button type="button" onClick={() => setOpen(true)}>
        New device
      </button>
    );
  }
  const available = parameters.data?.items ?? [];
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const sensors = available.filter((p) => chosen.has(p.name)).map((p) => ({ parameter: p.name }));
      const device = await api.createDevice({ name: name.trim(), sensors });
      setOpen(false);
      setName('');
      onCreated(device);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="card new-device" onSubmit={(e) => void submit(e)} aria-label="New device">
      <label>
        Name
        <input name="name" required maxLength={200} value={name} onChange={(e) => setName(e.target.value)} autoFocus />
      </label>
      <fieldset>
        <legend>Sensors</legend>
        {parameters.loading ? <span className="muted">Loading parameters…</span> : null}
        {available.map((p) => (
          <label key={p.name} className="check">
            <input
              type="checkbox"
              checked={chosen.has(p.name)}
              onChange={(e) =>
                setChosen((c) => {
                  const next = new Set(c);
                  if (e.target.checked) next.add(p.name);
                  else next.delete(p.name);
                  return next;
                })
              }
            />
            {p.name}{' '}
            <span className="muted">
              {p.min} … {p.max} {p.unit}
            </span>
          </label>
        ))}
      </fieldset>
      {error ? (
        <p className="notice error" role="alert">
          {error}
        </p>
      ) : null}
      <div className="actions">
        <button type="submit" disabled={busy || !name.trim()}>
          {busy ? 'Creating…' : 'Create device'}
        </button>
        <button type="button" className="secondary" onClick={() => setOpen(false)}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** The MQTT secret is answered once, at creation: shown here once, with what firmware needs. */
function Credentials({ device, onClose }: { device: CreatedDevice; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
  }, []);
  return (
    <dialog ref={ref} className="credentials" aria-labelledby="cred-title" onClose={onClose} data-testid="credentials">
      <h2 id="cred-title">Device “{device.name}” created</h2>
      <p>Its MQTT credentials are shown only now: copy them into the device’s firmware.</p>
      <dl>
        <dt>Username (device id)</dt>
        <dd className="mono" data-testid="mqtt-username">
          {device.mqtt.username}
        </dd>
        <dt>Password</dt>
        <dd className="mono" data-testid="mqtt-password">
          {device.mqtt.password}
        </dd>
        <dt>Topics</dt>
        <dd className="mono small">devices/{device.id}/telemetry, /replies, /status (publish) · /commands (subscribe)</dd>
      </dl>
      <div className="actions">
        <Link to={`/devices/${device.id}`} onClick={() => ref.current?.close()}>
          Open the device
        </Link>
        <button type="button" onClick={() => ref.current?.close()}>
          Done
        </button>
      </div>
    </dialog>
  );
}
