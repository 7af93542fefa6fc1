/** The `users` table's one owner is shared/store/users.ts (ctl adds and revokes learners too). */
export { UsersStore, type Learner } from '../../shared/store/users.js';
