/** Writes docs/asyncapi.json from packages/contracts (the document the contracts test validates). */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { asyncApiDocument } from '@devicesaga/contracts';

const file = path.resolve(__dirname, '../docs/asyncapi.json');
writeFileSync(file, `${JSON.stringify(asyncApiDocument(), null, 2)}\n`);
console.log(`wrote ${path.relative(process.cwd(), file)}`);
