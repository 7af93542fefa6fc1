/** The `user_sessions` table's one owner is shared/store/sessions.ts (an emergency stop reads it too). */
export { SessionsStore, type OpenSession } from '../../shared/store/sessions.js';
