/**
 * Weak ETags of SCIM resources (RFC 7644 §3.14): the version is the resource's stream revision,
 * `W/"<revision>"`, and If-Match / If-None-Match compare it ignoring the weak prefix.
 */
export const etagOf = (revision: number): string => `W/"${revision}"`;

const tagsOf = (header: string) => header.split(',').map((t) => t.trim());

/** If-Match: no header, `*`, or one of the listed tags names `revision` */
export function etagMatches(header: string | undefined, revision: number): boolean {
  if (!header) return true;
  const tags = tagsOf(header);
  return tags.includes('*') || tags.some((t) => t.replace(/^W\//, '') === `"${revision}"`);
}

/** If-None-Match: a header given and `*` or one of its tags names `revision` (answer 304) */
export function ifNoneMatchHits(header: string | undefined, revision: number): boolean {
  if (!header) return false;
  return header === '*' || tagsOf(header).some((t) => t.replace(/^W\//, '') === `"${revision}"`);
}
