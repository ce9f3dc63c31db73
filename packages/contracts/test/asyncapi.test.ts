import { asyncApiDocument, topics } from '../src';

describe('the AsyncAPI document', () => {
  it('is accepted by the AsyncAPI parser without errors and lists every topic of the catalog', async () => {
    const { Parser } = await import('@asyncapi/parser');
    const parser = new Parser();
    const { document, diagnostics } = await parser.parse(JSON.stringify(asyncApiDocument()));
    const errors = diagnostics.filter((d) => Number(d.severity) === 0); // 0 = DiagnosticSeverity.Error
    expect(errors.map((e) => `${e.path.join('.')}: ${e.message}`)).toEqual([]);
    expect(document).toBeDefined();
    const addresses = document!.channels().all().map((c) => c.address());
    for (const topic of topics) expect(addresses).toContain(topic);
    expect(addresses).toContain('devices/{deviceId}/commands');
  });
});
