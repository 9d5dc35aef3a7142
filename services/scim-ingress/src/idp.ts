/** Recognise the identity provider from the request, for the provisioning log. */
export function recogniseIdp(userAgent: string | undefined): string {
  const ua = (userAgent ?? '').trim();
  if (!ua) return 'unknown';
  const rules: Array<[RegExp, string]> = [
    [/okta/i, 'Okta'],
    [/azure ?ad|azure active directory|microsoft|entra|aad ?scim/i, 'Microsoft Entra ID'],
    [/ping ?(one|identity|federate)/i, 'PingOne'],
    [/onelogin/i, 'OneLogin'],
    [/jumpcloud/i, 'JumpCloud'],
    [/google/i, 'Google Workspace'],
  ];
  for (const [re, name] of rules) if (re.test(ua)) return name;
  return ua.slice(0, 120);
}
