/*
 * A preload (`node --import test/helpers/fs-faults.mjs`) that makes every
 * file-system write under MURMUR_FAULT_ROOT fail with the errno code
 * MURMUR_FAULT_CODE (EROFS, EACCES, ENOENT …), reads left alone: a
 * read-only store for a process that runs as root, where chmod stops
 * nothing. MURMUR_FAULT_OPS (comma-separated, e.g. `mkdir`) limits the
 * fault to those calls. The built CLI imports fs functions by name, so the
 * patched functions are pushed into the ES module exports too.
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const root = process.env.MURMUR_FAULT_ROOT;
const code = process.env.MURMUR_FAULT_CODE ?? 'EROFS';
const only = process.env.MURMUR_FAULT_OPS ? new Set(process.env.MURMUR_FAULT_OPS.split(',')) : undefined;

const under = (path) => root !== undefined && (typeof path === 'string' || path instanceof URL || Buffer.isBuffer(path)) && String(path).startsWith(root);
const fault = (op, path) => Object.assign(new Error(`${code}: injected fault, ${op} '${path}'`), { code, errno: -30, syscall: op, path: String(path) });
const writes = (flags) => flags !== undefined && flags !== 'r' && flags !== 'rs' && flags !== fs.constants.O_RDONLY;

/** [name, how many leading arguments are paths, a test on the arguments (default: always a write)] */
const ops = [
  ['mkdir', 1],
  ['mkdtemp', 1],
  ['rename', 2],
  ['writeFile', 1],
  ['appendFile', 1],
  ['rm', 1],
  ['rmdir', 1],
  ['unlink', 1],
  ['copyFile', 2],
  ['cp', 2],
  ['utimes', 1],
  ['symlink', 2],
  ['link', 2],
  ['open', 1, (args) => writes(args[1])],
].filter(([name]) => !only || only.has(name));

const hit = (name, paths, test, args) => {
  const path = args.slice(0, paths).find(under);
  return path !== undefined && (!test || test(args)) ? path : undefined;
};

if (root) {
  for (const [name, paths, test] of ops) {
    const promised = fs.promises[name];
    if (promised) {
      fs.promises[name] = async (...args) => {
        const path = hit(name, paths, test, args);
        if (path !== undefined) throw fault(name, path);
        return promised(...args);
      };
    }
    const callback = fs[name];
    if (callback) {
      fs[name] = (...args) => {
        const path = hit(name, paths, test, args);
        if (path === undefined) return callback(...args);
        const done = args.findLast((arg) => typeof arg === 'function');
        process.nextTick(() => done?.(fault(name, path)));
      };
    }
    const sync = fs[`${name}Sync`];
    if (sync) {
      fs[`${name}Sync`] = (...args) => {
        const path = hit(name, paths, test, args);
        if (path !== undefined) throw fault(name, path);
        return sync(...args);
      };
    }
  }
  syncBuiltinESMExports();
}
