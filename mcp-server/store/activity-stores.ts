import type { Db } from '../../shared/sqlite.js';
import { SessionsStore, type EndedSession } from '../../shared/store/sessions.js';
import { UsersStore } from '../../shared/store/users.js';
import type { DiskGuard } from './disk-guard.js';

/**
 * `users` as the server uses it: the activity writes (`last_activity`) are best effort, so a disk
 * that refuses them costs a timestamp, never a learner's call or the timer that ends sessions.
 */
export class ServerUsersStore extends UsersStore {
  constructor(
    db: Db,
    private readonly guard: DiskGuard,
  ) {
    super(db);
  }

  override touch(id: number, atIso: string): void {
    this.guard.soft(() => super.touch(id, atIso), undefined);
  }
}

/**
 * `user_sessions` as the server uses it: session bookkeeping is best effort. A session that could
 * not be opened gets id 0, which no row has, so its later touches and its end write nothing.
 */
export class ServerSessionsStore extends SessionsStore {
  constructor(
    db: Db,
    private readonly guard: DiskGuard,
  ) {
    super(db);
  }

  override open(user: number, transport: string, atIso: string): number {
    return this.guard.soft(() => super.open(user, transport, atIso), 0);
  }

  override touch(id: number, atIso: string): void {
    this.guard.soft(() => super.touch(id, atIso), undefined);
  }

  override end(id: number, atIso: string): void {
    this.guard.soft(() => super.end(id, atIso), undefined);
  }

  override endStale(beforeIso: string): EndedSession[] {
    return this.guard.soft(() => super.endStale(beforeIso), []);
  }
}
