import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

const isExecutableFile = (path: string): boolean => {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
};

/**
 * Finds `name` the way a shell would: as a path when it contains a `/`, otherwise in each `PATH`
 * directory (`env.PATH`, default `process.env.PATH`). Returns the full path of the first
 * executable regular file, or `undefined`.
 */
export const findExecutable = (
  name: string,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined => {
  if (name === '') {
    return undefined;
  }
  if (name.includes('/')) {
    return isExecutableFile(name) ? name : undefined;
  }
  for (const directory of (env.PATH ?? '').split(delimiter)) {
    // An empty PATH entry means the current directory, as in POSIX sh.
    const candidate = join(directory === '' ? '.' : directory, name);
    if (isExecutableFile(candidate)) {
      return candidate;
    }
  }
  return undefined;
};

/** Whether `name` is an executable on `PATH` (see {@link findExecutable}). */
export const hasLocalCommand = (name: string, env: NodeJS.ProcessEnv = process.env): boolean =>
  findExecutable(name, env) !== undefined;
