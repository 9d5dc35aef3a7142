/**
 * CSV rows to field values: each mapped column's text goes through its transform (the same
 * transforms as the SCIM and Entra mappings), then becomes a value of its field's type. The mapping
 * service answers this for the admin API's imports (`muster.mapping.csv`); it is pure.
 *
 * What a cell may hold, by field type (an empty cell is no value):
 * - text: any text up to MAX_TEXT characters (`too_long` beyond)
 * - email, phone: as admin edits require (`invalid_email`, `invalid_phone`)
 * - number: a plain decimal, `-12`, `3.5` (no thousands separators: `invalid_number`)
 * - boolean: true/false, yes/no, y/n, 1/0, in any case (`invalid_boolean`)
 * - date: a real day written year first: `2021-02-03`, `2021/02/03` or `2021.02.03`, given back as
 *   `2021-02-03`; day-first and month-first forms are ambiguous and refused (`invalid_date`)
 * - enum: one of the field's values, in any case (`invalid_enum`)
 * - multi-valued fields: values separated by `|`
 */
import type { ColumnMapping, ImportErrorCode, SchemaField } from '@muster/contracts';
import { applyTransform } from './map.ts';

export const MAX_TEXT = 2_000;

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const PHONE = /^[+()\d][\d\s().-]{2,30}$/;
const NUMBER = /^-?\d+(\.\d+)?$/;
const DATE = /^(\d{4})[-/.](\d{2})[-/.](\d{2})$/;
const TRUE = new Set(['true', 'yes', 'y', '1']);
const FALSE = new Set(['false', 'no', 'n', '0']);

export interface CsvFault { column: string; field: string; code: ImportErrorCode; message: string; value: unknown }
export type CsvRowResult = { fields: Record<string, unknown> } | { fault: CsvFault };

type Converted = { value: unknown } | { code: ImportErrorCode; message: string };

function convertOne(text: string, f: SchemaField): Converted {
  switch (f.type) {
    case 'text':
      return text.length > MAX_TEXT ? { code: 'too_long', message: `is longer than ${MAX_TEXT} characters` } : { value: text };
    case 'email':
      return EMAIL.test(text) ? { value: text } : { code: 'invalid_email', message: 'is not an email address' };
    case 'phone':
      return PHONE.test(text) ? { value: text } : { code: 'invalid_phone', message: 'is not a phone number' };
    case 'number':
      return NUMBER.test(text.trim()) ? { value: Number(text.trim()) } : { code: 'invalid_number', message: 'is not a number (digits, an optional - and . decimals)' };
    case 'boolean': {
      const t = text.trim().toLowerCase();
      return TRUE.has(t) ? { value: true } : FALSE.has(t) ? { value: false } : { code: 'invalid_boolean', message: 'is not true/false, yes/no, y/n or 1/0' };
    }
    case 'date': {
      const m = DATE.exec(text.trim());
      const iso = m ? `${m[1]}-${m[2]}-${m[3]}` : '';
      const d = new Date(`${iso}T00:00:00Z`);
      return m && !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === iso
        ? { value: iso } : { code: 'invalid_date', message: 'is not a real day written year first (YYYY-MM-DD)' };
    }
    case 'enum': {
      const hit = (f.enumValues ?? []).find((v) => v.toLowerCase() === text.trim().toLowerCase());
      return hit !== undefined ? { value: hit } : { code: 'invalid_enum', message: `is not one of ${(f.enumValues ?? []).join(', ')}` };
    }
    default:
      return { value: text };
  }
}

/** One cell as its field's value (null for an empty cell), or what is wrong with it. */
export function convertCell(raw: string, m: ColumnMapping, f: SchemaField): Converted {
  const text = String(applyTransform(raw, m.transform));
  if (text === '') return { value: null };
  if (!f.multiValued) return convertOne(text, f);
  const values: unknown[] = [];
  for (const part of text.split('|').map((p) => p.trim()).filter(Boolean)) {
    const one = convertOne(part, f);
    if ('code' in one) return one;
    values.push(one.value);
  }
  return { value: values.length ? values : null };
}

/**
 * Map rows: `columns` are the file's header, `mapping` the mapped columns. Each row gives every
 * mapped field's value (null for an empty cell) or its first fault, in column order.
 */
export function mapCsvRows(fields: SchemaField[], columns: string[], mapping: Record<string, ColumnMapping>, rows: string[][]): CsvRowResult[] {
  const byKey = new Map(fields.map((f) => [f.key, f]));
  const plan = Object.entries(mapping).map(([column, m]) => {
    const f = byKey.get(m.field);
    if (!f) throw new Error(`unknown field "${m.field}" for column "${column}"`);
    return { column, index: columns.indexOf(column), m, f };
  });
  return rows.map((row) => {
    const out: Record<string, unknown> = {};
    for (const p of plan) {
      const raw = row[p.index] ?? '';
      const v = convertCell(raw, p.m, p.f);
      if ('code' in v) return { fault: { column: p.column, field: p.f.key, code: v.code, message: `column "${p.column}" (${p.f.key}) ${v.message}`, value: raw } };
      out[p.f.key] = v.value;
    }
    return { fields: out };
  });
}
