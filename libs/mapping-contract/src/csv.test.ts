import { describe, expect, it } from 'vitest';
import type { SchemaField } from '@muster/contracts';
import { MAX_TEXT, convertCell, mapCsvRows } from './csv.ts';

const field = (type: SchemaField['type'], extra: Partial<SchemaField> = {}): SchemaField => ({ key: 'f', label: 'F', type, required: false, multiValued: false, ...extra });
const direct = { field: 'f', transform: 'direct' as const };
const value = (raw: string, f: SchemaField, transform: 'direct' | 'lowercase' | 'uppercase' | 'trim' = 'direct') => convertCell(raw, { field: 'f', transform }, f);

describe('CSV cells to field values', () => {
  it('dates: a real day, year first, with - / or .; anything else is invalid_date', () => {
    expect(value('2021-03-04', field('date'))).toEqual({ value: '2021-03-04' });
    expect(value('2021/03/04', field('date'))).toEqual({ value: '2021-03-04' });
    expect(value(' 2021.03.04 ', field('date'))).toEqual({ value: '2021-03-04' });
    for (const bad of ['2021-02-30', '04/03/2021', '2021-3-4', 'March 4, 2021']) expect(value(bad, field('date'))).toMatchObject({ code: 'invalid_date' });
  });

  it('numbers, booleans, enums and emails', () => {
    expect(value('-3.5', field('number'))).toEqual({ value: -3.5 });
    expect(value('1,234', field('number'))).toMatchObject({ code: 'invalid_number' });
    expect(value('Yes', field('boolean'))).toEqual({ value: true });
    expect(value('0', field('boolean'))).toEqual({ value: false });
    expect(value('perhaps', field('boolean'))).toMatchObject({ code: 'invalid_boolean' });
    expect(value('red', field('enum', { enumValues: ['Red', 'Blue'] }))).toEqual({ value: 'Red' });
    expect(value('Green', field('enum', { enumValues: ['Red', 'Blue'] }))).toMatchObject({ code: 'invalid_enum' });
    expect(value('Ada@Example.org', field('email'), 'lowercase')).toEqual({ value: 'ada@example.org' });
    expect(value('not-an-email', field('email'))).toMatchObject({ code: 'invalid_email' });
    expect(value('+44 20 7946 0000', field('phone'))).toEqual({ value: '+44 20 7946 0000' });
    expect(value('call me', field('phone'))).toMatchObject({ code: 'invalid_phone' });
  });

  it('text up to the limit; an empty cell is no value; multi-valued cells split on |', () => {
    expect(value('x'.repeat(MAX_TEXT), field('text'))).toEqual({ value: 'x'.repeat(MAX_TEXT) });
    expect(value('x'.repeat(MAX_TEXT + 1), field('text'))).toMatchObject({ code: 'too_long' });
    expect(value('', field('number'))).toEqual({ value: null });
    expect(value('  ', field('number'), 'trim')).toEqual({ value: null });
    expect(value('a | b|', field('text', { multiValued: true }))).toEqual({ value: ['a', 'b'] });
  });

  it('maps rows by column name, each to its fields or its first fault', () => {
    const fields = [field('text', { key: 'name' }), field('number', { key: 'age' })];
    const out = mapCsvRows(fields, ['Name', 'Age', 'Other'], { Name: { ...direct, field: 'name' }, Age: { ...direct, field: 'age' } }, [['Ada', '36', 'x'], ['Bob', 'old', 'y']]);
    expect(out[0]).toEqual({ fields: { name: 'Ada', age: 36 } });
    expect(out[1]).toMatchObject({ fault: { column: 'Age', field: 'age', code: 'invalid_number', value: 'old' } });
  });
});
