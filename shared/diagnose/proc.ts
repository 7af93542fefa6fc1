import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/**
 * What /proc tells about processes, read without running anything: a pid file's process, the
 * processes listening on a TCP port, a uid's name. Only what this user may read is visible.
 */

export interface ProcessInfo {
  pid: number;
  /** The command line, arguments separated by spaces (cut to 200 characters). */
  command: string;
}

/** The process, or undefined when there is none (a zombie counts as none). */
export function processInfo(pid: number): ProcessInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 3, after the command name in parentheses (which may itself hold spaces or parentheses).
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return undefined;
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    return { pid, command: cmdline.slice(0, 200) };
  } catch {
    return undefined; // no such process, or it exited between the reads
  }
}

/** The pid a pid file names, when it holds one. */
export function pidFromFile(file: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch {
    return undefined; // no pid file: nothing is known to run
  }
  if (!/^\d{1,7}$/.test(text)) return undefined;
  const pid = Number(text);
  return pid > 1 ? pid : undefined;
}

/** Inodes of the sockets listening on `port` (IPv4 and IPv6), from /proc/net/tcp{,6}. */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue; // no IPv6, or no /proc
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      const local = cols[1];
      if (cols[3] !== '0A' || local === undefined || !local.endsWith(`:${hexPort}`)) continue;
      const inode = cols[9];
      if (inode !== undefined && inode !== '0') inodes.add(inode);
    }
  }
  return inodes;
}

export interface PortHolders {
  /** Processes holding a listening socket on the port. */
  holders: ProcessInfo[];
  /** Some listening socket was found in /proc/net but no process of ours holds it (another user's, or out of time). */
  hidden: boolean;
}

/**
 * Who listens on `port`: /proc/net/tcp gives the socket's inode, /proc/PID/fd shows which
 * process holds `socket:[inode]`. Other users' fds cannot be read, so their processes stay
 * hidden (`ss -ltnp` as root shows them). Bounded by `budgetMs`.
 */
export function portHolders(port: number, budgetMs = 500): PortHolders {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return { holders: [], hidden: false };
  const wanted = new Set([...inodes].map((i) => `socket:[${i}]`));
  const found = new Set<string>();
  const holders: ProcessInfo[] = [];
  const deadline = performance.now() + budgetMs;
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return { holders: [], hidden: true };
  }
  for (const pid of pids) {
    if (performance.now() > deadline) break;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // another user's process, or gone
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue; // closed meanwhile
      }
      if (!wanted.has(target)) continue;
      found.add(target);
      const info = processInfo(Number(pid));
      if (info && !holders.some((h) => h.pid === info.pid)) holders.push(info);
    }
  }
  return { holders, hidden: found.size < wanted.size };
}

/** The name of a uid from /etc/passwd, or the number itself. */
export function userName(uid: number): string {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , id] = line.split(':');
      if (name !== undefined && id === String(uid)) return name;
    }
  } catch {
    // no /etc/passwd (a container): the number says it
  }
  return String(uid);
}
