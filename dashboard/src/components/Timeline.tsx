import type { CommandViewDto } from '@devicesaga/contracts';
import { describeReason, isTerminal, timelineOf } from '../lib/commands';
import { formatTime, formatValue } from '../lib/format';

/** One command's saga, step by step, as it happens: PENDING → APPROVED → SUCCEEDED, REJECTED, FAILED → COMPENSATED. */
export function Timeline({ command, restoredValue, unit }: { command: CommandViewDto; restoredValue?: number | null | undefined; unit?: string | undefined }) {
  const steps = timelineOf(command);
  const done = isTerminal(command.status);
  return (
    <article className={`command status-${command.status.toLowerCase()}`} data-testid="command" data-command-id={command.id} data-status={command.status}>
      <header>
        <span className="command-what">
          {command.action === 'set' ? 'Set' : 'Add'} <strong>{formatValue(command.value, unit)}</strong>
        </span>
        <span className={`pill status ${command.status.toLowerCase()}`} data-testid="command-status">
          {command.status}
        </span>
        <time className="muted" dateTime={command.createdAt}>
          {formatTime(command.createdAt)}
        </time>
      </header>
      <ol className="timeline" aria-label={`Saga of the command to ${command.action} ${command.value}`}>
        {steps.map((s) => (
          <li key={s.status} className={`step ${s.state}`} aria-current={s.state === 'current' ? 'step' : undefined}>
            <span className="step-name">{s.status}</span>
            {s.at ? <time dateTime={s.at}>{new Date(s.at).toLocaleTimeString()}</time> : <span className="muted">waiting</span>}
          </li>
        ))}
      </ol>
      {command.status === 'REJECTED' ? (
        <p className="reason" data-testid="command-reason">
          Rejected: {describeReason(command.reason)} ({command.reason})
        </p>
      ) : null}
      {command.status === 'FAILED' || command.status === 'COMPENSATED' ? (
        <p className="reason" data-testid="command-reason">
          {describeReason(command.reason)} ({command.reason}).{' '}
          {command.status === 'COMPENSATED' ? (
            <span data-testid="restored-value">Value restored to {restoredValue === undefined ? '…' : formatValue(restoredValue, unit)}.</span>
          ) : (
            'Restoring the previous value…'
          )}
        </p>
      ) : null}
      {!done && command.reason === 'STUCK' ? <p className="reason">No news from the saga for a while.</p> : null}
    </article>
  );
}
