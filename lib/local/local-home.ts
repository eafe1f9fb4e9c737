import { readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as z from 'zod';
import { SluiceError } from '../core/errors/SluiceError.js';

/** Folder of the local stack's data when SLUICE_HOME is not set, relative to the working directory. */
export const DEFAULT_SLUICE_HOME = '.sluice';

/** Name of the file the running local stack writes so the CLI's `--local` can find it. */
export const LOCAL_STACK_FILE = 'local-stack.json';

/** Where the running local stack listens; written at start, removed at stop. */
export const LocalStackInfoSchema = z.object({
  apiUrl: z.url(),
  s3Endpoint: z.url(),
  bucket: z.string().min(3),
  pid: z.number().int().positive(),
  /** The per-start token of the stack's rollout commands (see `CONTROL_TOKEN_HEADER`). */
  controlToken: z.string().min(16),
});
/** Where the running local stack listens. */
export type LocalStackInfo = z.infer<typeof LocalStackInfoSchema>;

/** The local stack's data folder: SLUICE_HOME, or `.sluice` in the working directory. */
export function sluiceHome(env: Record<string, string | undefined> = process.env): string {
  return resolve(env.SLUICE_HOME || DEFAULT_SLUICE_HOME);
}

/** Records where the local stack listens, readable by the user only: it holds the control token. */
export async function writeLocalStackInfo(home: string, info: LocalStackInfo): Promise<void> {
  const path = join(home, LOCAL_STACK_FILE);
  // Removed first: `mode` applies to a new file only, and a file an older start left may be readable by others.
  await rm(path, { force: true });
  await writeFile(path, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
}

/** Forgets the local stack's address (at stop), unless the file describes another stack than `info`. */
export async function removeLocalStackInfo(home: string, info: LocalStackInfo): Promise<void> {
  const current = await readLocalStackInfo(home);
  if (current && (current.pid !== info.pid || current.apiUrl !== info.apiUrl)) return;
  await rm(join(home, LOCAL_STACK_FILE), { force: true });
}

/**
 * Reads where the local stack listens; undefined when it is not running (no file, or its process is gone).
 */
export async function readLocalStackInfo(home: string): Promise<LocalStackInfo | undefined> {
  let text: string;
  try {
    text = await readFile(join(home, LOCAL_STACK_FILE), 'utf8');
  } catch {
    return undefined;
  }
  const parsed = LocalStackInfoSchema.safeParse(safeJson(text));
  if (!parsed.success || !isProcessAlive(parsed.data.pid)) return undefined;
  return parsed.data;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * What the running local stack wrote about itself (its addresses and bucket); a clear error when none is running.
 *
 * @example
 * const { apiUrl } = await runningLocalStack(process.env);
 */
export async function runningLocalStack(env: Record<string, string | undefined>): Promise<LocalStackInfo> {
  const home = sluiceHome(env);
  const info = await readLocalStackInfo(home);
  if (!info) {
    throw new SluiceError(
      `the local stack is not running (nothing found in ${home}); start it with \`npm start\` in another terminal`,
    );
  }
  return info;
}
