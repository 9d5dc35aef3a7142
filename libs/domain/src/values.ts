/** Field values as the roster compares them: unset, null and '' are the same (no value). */
export const isEmptyValue = (v: unknown) => v === undefined || v === null || v === '';

export function sameValue(a: unknown, b: unknown): boolean {
  if (isEmptyValue(a) && isEmptyValue(b)) return true;
  if (a === b) return true;
  return JSON.stringify(a) === JSON.stringify(b);
}
