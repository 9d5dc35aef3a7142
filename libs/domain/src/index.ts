export * from './errors.ts';
export * from './decider.ts';
export * from './defaults.ts';
export * from './list.ts';
export * from './tokens.ts';
export * from './person.ts';
export * from './organisation.ts';
export * from './handler.ts';
