import { describe, expect, it } from 'vitest';
import { ADMIN_TOKEN_MIN_LENGTH, weakAdminTokenWarning } from './auth.ts';

describe('weakAdminTokenWarning', () => {
  it('warns about an operator-chosen admin token shorter than the minimum, naming its length and what the log keeps', () => {
    const w = weakAdminTokenWarning('change-me-admin-token');
    expect(w).toMatch(/^MUSTER_ADMIN_TOKEN has 21 characters/);
    expect(w).toMatch(/SHA-256 and first 4 characters/);
    expect(weakAdminTokenWarning('x'.repeat(ADMIN_TOKEN_MIN_LENGTH - 1))).not.toBeNull();
  });

  it('is silent for a long enough token and when none is set (one is generated)', () => {
    expect(weakAdminTokenWarning('x'.repeat(ADMIN_TOKEN_MIN_LENGTH))).toBeNull();
    expect(weakAdminTokenWarning(undefined)).toBeNull();
    expect(weakAdminTokenWarning('')).toBeNull();
  });
});
