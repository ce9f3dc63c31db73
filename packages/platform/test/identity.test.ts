/* eslint-disable @typescript-eslint/no-unsafe-argument -- jest's asymmetric matchers are typed any */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHttpApp, createLogger, createMetrics, currentUser, finish, identityHeaders, IDENTITY_HEADER, requireRole, requireUser, route, serviceUser, signIdentity, verifyIdentity } from '../src';

const settings = { IDENTITY_SECRET: 'identity-test-secret-at-least-32-characters' };
const alice = { id: 'u-alice', email: 'alice@example.com', username: 'alice', role: 'user' as const };

describe('signed identity (X-DS-Identity)', () => {
  it('round-trips id, email, username, role and expiry; the header is v1.<payload>.<mac>', () => {
    const now = Date.now();
    const header = signIdentity(settings, alice, 60, now);
    expect(header).toMatch(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(verifyIdentity(settings, header, now)).toEqual({ ...alice, exp: Math.floor(now / 1000) + 60 });
    expect(verifyIdentity(settings, signIdentity(settings, { ...alice, via: 'command-service' }, 60))).toMatchObject({ via: 'command-service' });
  });

  it('a changed payload, another secret, a changed MAC character, an expired or a malformed header is refused with 401', () => {
    const header = signIdentity(settings, alice, 60);
    const [, payload, mac] = header.split('.') as [string, string, string];
    const promoted = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), ro: 'operator' })).toString('base64url');
    const refused = [
      `v1.${promoted}.${mac}`,
      signIdentity({ IDENTITY_SECRET: 'another-secret-that-is-at-least-32-chars' }, alice, 60),
      `v1.${payload}.${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`,
      signIdentity(settings, alice, -1),
      'Bearer x',
      'v1.nodot',
      `v1.${Buffer.from('not json').toString('base64url')}.x`,
    ];
    for (const h of refused) expect(() => verifyIdentity(settings, h)).toThrow(expect.objectContaining({ status: 401 }));
  });
});

describe('requireUser (every service behind the gateway)', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    const logger = createLogger('identity-test', 'silent');
    const app = createHttpApp({ logger, metrics: createMetrics('identity-test'), readiness: {} });
    app.get('/me', requireUser(settings), (_req, res) => {
      res.json(currentUser(res));
    });
    app.post(
      '/operators-only',
      requireUser(settings),
      route(async (_req, res) => {
        await Promise.resolve();
        res.json(requireRole(res, 'operator'));
      }),
    );
    app.get('/internal', requireUser(settings, { services: true }), (_req, res) => {
      res.json(currentUser(res));
    });
    finish(app, logger);
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('a request with a valid identity gets currentUser with username and role; without one (not through the gateway) it is a 401', async () => {
    const ok = await fetch(`${base}/me`, { headers: identityHeaders(settings, alice) });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual(alice);
    expect((await fetch(`${base}/me`)).status).toBe(401);
    expect((await fetch(`${base}/me`, { headers: { [IDENTITY_HEADER]: 'v1.e30.AAAA' } })).status).toBe(401);
  });

  it('requireRole answers 403 to a plain user and lets an operator through', async () => {
    expect((await fetch(`${base}/operators-only`, { method: 'POST', headers: identityHeaders(settings, alice) })).status).toBe(403);
    expect((await fetch(`${base}/operators-only`, { method: 'POST', headers: identityHeaders(settings, { ...alice, role: 'operator' }) })).status).toBe(200);
  });

  it('a service identity is refused on user routes (403) and admitted where services are', async () => {
    const svc = identityHeaders(settings, serviceUser('notification-service'));
    expect((await fetch(`${base}/me`, { headers: svc })).status).toBe(403);
    const internal = await fetch(`${base}/internal`, { headers: svc });
    expect(await internal.json()).toMatchObject({ id: 'service:notification-service', role: 'service' });
  });
});
