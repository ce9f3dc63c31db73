import { z } from 'zod';
import { AppError, ConfigError, loadConfig, parseOrThrow, signAccessToken, verifyAccessToken } from '../src';

const jwt = { JWT_SECRET: 'x'.repeat(40), JWT_ISSUER: 'devicesaga', JWT_AUDIENCE: 'devicesaga-api' };

describe('loadConfig', () => {
  it('applies the infra defaults and parses broker lists', () => {
    const config = loadConfig({ PORT: z.coerce.number().default(8101) }, { KAFKA_BROKERS: 'a:1, b:2' });
    expect(config.KAFKA_BROKERS).toEqual(['a:1', 'b:2']);
    expect(config.PORT).toBe(8101);
    expect(config.DATABASE_HOST).toBe('127.0.0.1');
  });

  it('refuses a bad value with a sentence naming the variable, without echoing secrets', () => {
    expect(() => loadConfig({}, { JWT_SECRET: 'short-secret', KAFKA_CLIENT: 'other' })).toThrow(ConfigError);
    try {
      loadConfig({}, { JWT_SECRET: 'short-secret' });
    } catch (err) {
      expect(String(err)).toContain('JWT_SECRET');
      expect(String(err)).not.toContain('short-secret');
    }
  });
});

describe('parseOrThrow', () => {
  it('answers a 400 naming each field at fault', () => {
    const schema = z.object({ value: z.number(), deviceId: z.string() });
    try {
      parseOrThrow(schema, { value: 'hot' }, 'body');
      throw new Error('expected a failure');
    } catch (err) {
      expect(err).toBeInstanceOf(AppError);
      const appError = err as AppError;
      expect(appError.status).toBe(400);
      expect(appError.details).toEqual(
        expect.arrayContaining([expect.objectContaining({ path: 'body.value' }), expect.objectContaining({ path: 'body.deviceId' })]),
      );
    }
  });
});

describe('access tokens', () => {
  it('round-trip the user and reject a token signed for another audience or with another key', async () => {
    const token = await signAccessToken(jwt, { id: 'u1', email: 'a@example.com' }, 60, 's1');
    const verified = await verifyAccessToken(jwt, token);
    expect(verified.user).toEqual({ id: 'u1', email: 'a@example.com' });
    expect(verified.sessionId).toBe('s1');
    await expect(verifyAccessToken({ ...jwt, JWT_AUDIENCE: 'other' }, token)).rejects.toMatchObject({ status: 401 });
    await expect(verifyAccessToken({ ...jwt, JWT_SECRET: 'y'.repeat(40) }, token)).rejects.toMatchObject({ status: 401 });
  });

  it('reject an expired token', async () => {
    const token = await signAccessToken(jwt, { id: 'u1', email: 'a@example.com' }, -10);
    await expect(verifyAccessToken(jwt, token)).rejects.toMatchObject({ status: 401 });
  });
});
