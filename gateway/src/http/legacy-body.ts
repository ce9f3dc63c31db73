import { Readable } from 'node:stream';
import busboy from 'busboy';
import type { Request } from 'express';
import { AppError } from '@devicesaga/platform';

const LIMIT = 16 * 1024;

/**
 * The fields of a legacy form post, whatever it claims to be. The original collection sends
 * `Content-Type: application/json` on every request — also on form posts whose body is multipart or urlencoded — so
 * the body is read raw (16 KB at most) and recognised by its shape: a multipart body starts with its boundary line
 * (the boundary is taken from there when the header lost it), a JSON body with `{`, anything else is urlencoded.
 * Query parameters fill fields the body lacks.
 */
export async function legacyFields(req: Request): Promise<Record<string, string>> {
  const raw = await readRaw(req);
  const fields: Record<string, string> = {};
  const text = raw.toString('utf8');
  const trimmed = text.trimStart();
  if (trimmed.startsWith('--')) {
    Object.assign(fields, await multipart(raw, boundaryOf(req.header('content-type')) ?? trimmed.slice(2, trimmed.search(/\r?\n/))));
  } else if (trimmed.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new AppError(400, 'MALFORMED_JSON', 'the body is not valid JSON');
    }
    for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') fields[k] = String(v);
    }
  } else if (trimmed) {
    for (const [k, v] of new URLSearchParams(text)) fields[k] = v;
  }
  for (const [k, v] of Object.entries(req.query)) {
    if (fields[k] === undefined && typeof v === 'string') fields[k] = v;
  }
  return fields;
}

function boundaryOf(contentType: string | undefined): string | undefined {
  if (!contentType?.toLowerCase().startsWith('multipart/')) return undefined;
  return /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType)?.slice(1).find(Boolean);
}

function readRaw(req: Request): Promise<Buffer> {
  // A body parser may already have run (it leaves the stream consumed).
  if (req.readableEnded || req.complete) {
    const body: unknown = req.body;
    if (body && typeof body === 'object') return Promise.resolve(Buffer.from(JSON.stringify(body)));
    return Promise.resolve(Buffer.alloc(0));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > LIMIT) {
        reject(new AppError(413, 'PAYLOAD_TOO_LARGE', 'body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

function multipart(raw: Buffer, boundary: string): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    const fields: Record<string, string> = {};
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }, limits: { fields: 20, fieldSize: LIMIT, files: 0 } });
    } catch {
      reject(AppError.badRequest('invalid multipart body'));
      return;
    }
    parser.on('field', (name, value) => {
      fields[name] = value;
    });
    parser.on('file', (_name, stream) => stream.resume());
    parser.once('error', () => reject(AppError.badRequest('invalid multipart body')));
    parser.once('close', () => resolve(fields));
    Readable.from([raw]).pipe(parser);
  });
}
