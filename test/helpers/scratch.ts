import { existsSync, lstatSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The run directory of one `npm test`: scratch projects, package copies and the embedded
 * test cluster live under it, and the global teardown removes it, after stopping every
 * PostgreSQL whose data directory is inside it (or in a place a scratch project's
 * `.bookingdb/local/location` pointer moved it to, as the root case does).
 */
const OWNER_FILE = '.owner-pid';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** postmaster.pid files and relocation targets under root (symlinks are not followed). */
function findClusters(root: string, depth = 0, found = { pidFiles: [] as string[], moved: [] as string[] }) {
  if (depth > 6) return found;
  let entries: string[];
  try {
    entries = readdirSync(root);
  } catch {
    return found;
  }
  for (const name of entries) {
    const path = join(root, name);
    let st;
    try {
      st = lstatSync(path);
    } catch {
      continue;
    }
    if (name === 'postmaster.pid' && st.isFile()) found.pidFiles.push(path);
    else if (name === 'location' && st.isFile() && root.endsWith(join('.bookingdb', 'local'))) {
      const target = readFileSync(path, 'utf8').trim();
      // only what bookingdb itself makes for a relocated cluster
      if (/^\/var\/lib\/bookingdb\/local-[0-9a-f]{16}$/.test(target)) {
        found.moved.push(target);
        if (existsSync(join(target, 'data', 'postmaster.pid'))) found.pidFiles.push(join(target, 'data', 'postmaster.pid'));
      }
    } else if (st.isDirectory()) findClusters(path, depth + 1, found);
  }
  return found;
}

async function stopPostmaster(pidFile: string): Promise<void> {
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 1 || !alive(pid)) return;
  process.kill(pid, 'SIGQUIT'); // immediate shutdown: the data is thrown away next
  for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}

/** Stops what runs inside root, then removes root and the relocated clusters it points to. */
export async function removeScratchRoot(root: string): Promise<void> {
  const { pidFiles, moved } = findClusters(root);
  for (const pidFile of pidFiles) await stopPostmaster(pidFile).catch(() => undefined);
  for (const dir of moved) rmSync(dir, { recursive: true, force: true });
  rmSync(root, { recursive: true, force: true });
}

/** Marks root as this process's, and removes run directories of earlier runs that died. */
export async function claimScratchRoot(root: string): Promise<void> {
  writeFileSync(join(root, OWNER_FILE), `${process.pid}\n`);
  for (const name of readdirSync(tmpdir())) {
    const dir = join(tmpdir(), name);
    if (!/^bookingdb-test-[A-Za-z0-9]{6}$/.test(name) || dir === root) continue; // mkdtemp's names only
    const owner = Number((() => { try { return readFileSync(join(dir, OWNER_FILE), 'utf8'); } catch { return ''; } })());
    if (Number.isInteger(owner) && owner > 1 && !alive(owner)) await removeScratchRoot(dir).catch(() => undefined);
  }
}
