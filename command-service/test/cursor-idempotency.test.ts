import { decodeCursor, encodeCursor } from '../src/domain/cursor';
import { canonicalJson, requestHash } from '../src/domain/idempotency';

describe('listing cursor', () => {
  test('a cursor decodes to the position it was made from', () => {
    const position = { createdAt: '2026-01-01T00:00:00.123Z', id: '0f8fad5b-d9cb-469f-a165-70867728950e' };
    const cursor = encodeCursor(position);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor)).toEqual(position);
  });

  test('anything else is not a cursor', () => {
    for (const bad of ['', 'abc', '!!!', Buffer.from('{"t":"x","i":"y"}').toString('base64url'), Buffer.from('null').toString('base64url')]) {
      expect(decodeCursor(bad)).toBeNull();
    }
  });
});

describe('request hash', () => {
  test('key order does not change the hash; a value does', () => {
    expect(canonicalJson({ b: 1, a: { d: 2, c: [3, { f: 1, e: 0 }] } })).toBe('{"a":{"c":[3,{"e":0,"f":1}],"d":2},"b":1}');
    expect(requestHash({ a: 1, b: 2 })).toBe(requestHash({ b: 2, a: 1 }));
    expect(requestHash({ a: 1, b: 2 })).not.toBe(requestHash({ a: 1, b: 3 }));
    expect(requestHash({ a: 1, b: undefined })).toBe(requestHash({ a: 1 }));
  });
});
