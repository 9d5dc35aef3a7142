/** the configured log does not exist (exit code 2, like a configuration mistake) */
export class NoLogError extends Error {}
