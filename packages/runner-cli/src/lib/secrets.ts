/**
 * Secrets found while a command ran (a scheme's `x-secret` values, webhook URLs, `--token`), removed from
 * every error it prints and every log line.
 */
export const knownSecrets: string[] = [];
