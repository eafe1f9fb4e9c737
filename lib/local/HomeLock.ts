import { randomUUID } from 'node:crypto';
import { link, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod';
import { SluiceError } from '../core/errors/SluiceError.js';
import { isProcessAlive } from './local-home.js';

/** Name of the lock file a running local stack holds in its data folder. */
export const HOME_LOCK_FILE = 'stack.lock';

/** Times a start retries after removing a stale lock, before giving up (another start keeps taking it over). */
const STALE_LOCK_ATTEMPTS = 3;

/** What the lock file holds: the process that owns the data folder, and since when. */
export const HomeLockContentSchema = z.object({
  pid: z.number().int().positive(),
  startedAt: z.string(),
});
/** The owner of a data folder. */
export type HomeLockContent = z.infer<typeof HomeLockContentSchema>;

/** Another running local stack owns the data folder. */
export class HomeInUseError extends SluiceError {
  constructor(
    readonly home: string,
    readonly owner: HomeLockContent,
  ) {
    super(
      `another local stack (pid ${owner.pid}, started ${owner.startedAt}) already uses the data folder ${home}; one stack per data folder: stop that one, or set SLUICE_HOME to another folder (the CLI's --local talks to the running one)`,
    );
  }
}

/**
 * The exclusive claim of one local stack on its data folder (`SLUICE_HOME`): two stacks writing one embedded store
 * would hand out the same version numbers and mix one publish's bytes with another's manifest.
 *
 * The lock is a file created atomically (link(2), which fails when it exists) holding the owner's pid. A lock whose process is gone (the stack was
 * killed) is stale and taken over; a live owner makes {@link HomeLock.acquire} throw {@link HomeInUseError}.
 *
 * @example
 * const lock = await HomeLock.acquire('.sluice');
 * try {
 *   // publish, serve: this process owns .sluice until it releases the lock
 * } finally {
 *   await lock.release();
 * }
 */
export class HomeLock {
  private constructor(
    /** The lock file. */
    readonly path: string,
    private readonly content: HomeLockContent,
  ) {}

  /** Takes the data folder for this process, or throws {@link HomeInUseError} naming the stack that has it. */
  static async acquire(
    home: string,
    options: {
      /** The lock's file name in the folder. @default HOME_LOCK_FILE */
      readonly file?: string;
      /** The error a live owner makes. @default HomeInUseError */
      readonly inUse?: (owner: HomeLockContent) => Error;
    } = {},
  ): Promise<HomeLock> {
    const path = join(home, options.file ?? HOME_LOCK_FILE);
    const inUse = options.inUse ?? ((owner: HomeLockContent) => new HomeInUseError(home, owner));
    const content: HomeLockContent = { pid: process.pid, startedAt: new Date().toISOString() };
    for (let attempt = 1; attempt <= STALE_LOCK_ATTEMPTS; attempt++) {
      // Written whole under a private name, then linked into place: link() fails if the lock exists, and a lock
      // file is never seen half-written (which would look stale to another start).
      const draft = `${path}.${process.pid}.${randomUUID()}`;
      await writeFile(draft, `${JSON.stringify(content)}\n`, { flag: 'wx' });
      try {
        await link(draft, path);
        return new HomeLock(path, content);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      } finally {
        await rm(draft, { force: true });
      }
      const owner = await readOwner(path);
      if (owner && isProcessAlive(owner.pid)) throw inUse(owner);
      // The owner is gone (or the file is unreadable, a start killed while writing it): the lock is stale.
      await rm(path, { force: true });
    }
    const owner = await readOwner(path);
    throw inUse(owner ?? { pid: 0, startedAt: 'unknown' });
  }

  /** Gives the data folder up; the file is removed only while it is still this lock's. */
  async release(): Promise<void> {
    const owner = await readOwner(this.path);
    if (owner?.pid === this.content.pid && owner.startedAt === this.content.startedAt) {
      await rm(this.path, { force: true });
    }
  }
}

async function readOwner(path: string): Promise<HomeLockContent | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = HomeLockContentSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
