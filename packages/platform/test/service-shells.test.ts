import { start as startAlarm } from '../../../alarm-service/src/main';
import { start as startNotification } from '../../../notification-service/src/main';
import { start as startPush } from '../../../push-service/src/main';

describe.each([
  ['alarm-service', startAlarm],
  ['notification-service', startNotification],
  ['push-service', startPush],
])('the %s shell', (_name, start) => {
  it('starts on a free port, answers its health checks and JSON 404s, and stops cleanly', async () => {
    const service = await start({ PORT: '0', LOG_LEVEL: 'silent' });
    try {
      const base = `http://127.0.0.1:${service.port}`;
      expect((await fetch(`${base}/health/live`)).status).toBe(200);
      expect((await fetch(`${base}/health/ready`)).status).toBe(200);
      const missing = await fetch(`${base}/nowhere`);
      expect(missing.status).toBe(404);
      const body = (await missing.json()) as { error: { code: string; requestId: string } };
      expect(body.error.code).toBe('NOT_FOUND');
      expect(body.error.requestId).toBe(missing.headers.get('x-request-id'));
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toContain('http_request_duration_seconds');
    } finally {
      await service.stop();
    }
  });
});
