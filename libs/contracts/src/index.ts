export * from './envelope.ts';
export * from './model.ts';
export * from './events.ts';
export * from './metadata.ts';
export * from "./types.ts";
export * from './personal.ts';
