import { isOrganisationEvent, isAdminTokenEvent } from '@muster/contracts';
import type { AdminRole, DomainEvent, Plan } from '@muster/contracts';
import type { Decider } from './decider.ts';
import { DomainError, conflict, notFound } from './errors.ts';

export interface OrganisationState { exists: boolean; orgId: string; name: string; plan: Plan }
export type OrganisationCommand =
  | { type: 'CreateOrganisation'; orgId: string; name: string; plan: Plan }
  | { type: 'ChangePlan'; plan: Plan };

export const organisationDecider: Decider<OrganisationCommand, OrganisationState> = {
  initialState: () => ({ exists: false, orgId: '', name: '', plan: 'enterprise' }),
  decide(cmd, s): DomainEvent[] {
    switch (cmd.type) {
      case 'CreateOrganisation':
        if (s.exists) throw conflict('organisation already exists');
        return [{ type: 'OrganisationCreated', data: { orgId: cmd.orgId, name: cmd.name, plan: cmd.plan } }];
      case 'ChangePlan':
        if (!s.exists) throw notFound('organisation not found');
        return cmd.plan === s.plan ? [] : [{ type: 'OrganisationPlanChanged', data: { orgId: s.orgId, plan: cmd.plan } }];
      default: {
        const never: never = cmd;
        throw new DomainError('invalid', `unknown command ${(never as { type: string }).type}`);
      }
    }
  },
  evolve(s, e) {
    if (!isOrganisationEvent(e)) return s;
    switch (e.type) {
      case 'OrganisationCreated': return { exists: true, orgId: e.data.orgId, name: e.data.name, plan: e.data.plan };
      case 'OrganisationPlanChanged': return { ...s, plan: e.data.plan };
      default: { const never: never = e; return never; }
    }
  },
};

const PLAN_RANK: Record<Plan, number> = { pro: 1, business: 2, enterprise: 3 };
/** Seeds: SCIM needs Business or above, Entra directory sync Pro or above. */
export const FEATURE_PLAN = { scim: 'business', entra: 'pro' } as const satisfies Record<string, Plan>;
export function planAllows(plan: Plan, feature: keyof typeof FEATURE_PLAN): boolean {
  return PLAN_RANK[plan] >= PLAN_RANK[FEATURE_PLAN[feature]];
}

export interface AdminTokenState {
  exists: boolean; tokenId: string; orgId: string | null; role: AdminRole; hash: string; revoked: boolean;
  label?: string; prefix?: string; expiresAt?: string | null; lifetimeDays?: number | null;
}
export const adminTokenEvolve = (s: AdminTokenState, e: DomainEvent): AdminTokenState => {
  if (!isAdminTokenEvent(e)) return s;
  switch (e.type) {
    case 'AdminTokenIssued': return {
      exists: true, tokenId: e.data.tokenId, orgId: e.data.orgId, role: e.data.role, hash: e.data.hash, revoked: false,
      label: e.data.label, prefix: e.data.prefix, expiresAt: e.data.expiresAt ?? null, lifetimeDays: e.data.lifetimeDays ?? null,
    };
    case 'AdminTokenRevoked': return { ...s, revoked: true };
    case 'AdminTokenExpiryScheduled': return { ...s, expiresAt: e.data.expiresAt };
    default: { const never: never = e; return never; }
  }
};

/** a token that works now: issued, not revoked, not past its expiry */
export const adminTokenUsable = (s: AdminTokenState, now: Date): boolean => s.exists && !s.revoked && (!s.expiresAt || Date.parse(s.expiresAt) > now.getTime());
