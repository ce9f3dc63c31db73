import { incompatibilities, namedIdentifiers, type SchemaSnapshot } from './support/schema-compat';

const col = (type: string, nullable = true, hasDefault = false) => ({ type, nullable, hasDefault });

const base = (): SchemaSnapshot => ({
  tables: new Set(['commands']),
  columns: new Map([
    ['commands.id', col('uuid', false)],
    ['commands.reason', col('text')],
  ]),
  constraints: new Map([['commands.commands_status_check', "CHECK ((status = ANY (ARRAY['PENDING'::text])))"]]),
});

describe('schema compatibility rules (what old code needs from a new schema)', () => {
  it('a new table, a nullable column and a defaulted NOT NULL column are expansions', () => {
    const after = base();
    after.tables.add('sagas');
    after.columns.set('sagas.id', col('uuid', false));
    after.constraints.set('sagas.sagas_pkey_check', 'CHECK (true)');
    after.columns.set('commands.note', col('text'));
    after.columns.set('commands.version', col('integer', false, true));
    expect(incompatibilities(base(), after)).toEqual([]);
  });

  it('dropping, retyping or tightening what old code uses is reported, naming the table or column', () => {
    const after = base();
    after.columns.delete('commands.reason');
    after.columns.set('commands.id', col('text', false));
    after.columns.set('commands.owner', col('text', false));
    after.constraints.set('commands.commands_status_check', "CHECK ((status = ANY (ARRAY['PENDING'::text, 'DONE'::text])))");
    const problems = incompatibilities(base(), after);
    expect(problems).toEqual([
      'changes the type of commands.id from uuid to text',
      'drops column commands.reason',
      "adds commands.owner NOT NULL without a default (old code's INSERTs omit it)",
      expect.stringContaining('changes constraint commands.commands_status_check'),
    ]);
    expect(namedIdentifiers(problems)).toEqual(['id', 'reason']);
  });

  it('a dropped table and a column turned NOT NULL are reported', () => {
    const after: SchemaSnapshot = { tables: new Set(), columns: new Map(), constraints: new Map() };
    expect(incompatibilities(base(), after)).toEqual(['drops table commands']);
    const tightened = base();
    tightened.columns.set('commands.reason', col('text', false));
    expect(incompatibilities(base(), tightened)).toEqual(['makes commands.reason NOT NULL']);
  });
});
