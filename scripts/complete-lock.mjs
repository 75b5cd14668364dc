#!/usr/bin/env node
// npm ci refuses a package-lock.json that lacks any optional dependency,
// even one for another platform. A registry mirror that carries only the
// Linux builds of node-llama-cpp's platform packages makes `npm install`
// leave the macOS, Windows and RISC-V ones out of the lock. This adds them
// back (version, os, cpu: npm skips them on other platforms without
// fetching). Run it after regenerating the lock against such a mirror;
// against the public registry it finds nothing to do.
import { readFileSync, writeFileSync } from 'node:fs';

const lockPath = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(lockPath, 'utf8'));
const llama = lock.packages['node_modules/node-llama-cpp'];
const platforms = {
  'linux-arm64': [['linux'], ['arm64', 'x64']],
  'linux-armv7l': [['linux'], ['arm', 'x64']],
  'linux-riscv64': [['linux'], ['riscv64']],
  'linux-x64': [['linux'], ['x64']],
  'linux-x64-cuda': [['linux'], ['x64']],
  'linux-x64-cuda-ext': [['linux'], ['x64']],
  'linux-x64-vulkan': [['linux'], ['x64']],
  'mac-arm64-metal': [['darwin'], ['arm64', 'x64']],
  'mac-x64': [['darwin'], ['x64']],
  'win-arm64': [['win32'], ['arm64', 'x64']],
  'win-x64': [['win32'], ['x64']],
  'win-x64-cuda': [['win32'], ['x64']],
  'win-x64-cuda-ext': [['win32'], ['x64']],
  'win-x64-vulkan': [['win32'], ['x64']],
};
let added = 0;
for (const [name, version] of Object.entries(llama?.optionalDependencies ?? {})) {
  const key = `node_modules/${name}`;
  const platform = platforms[name.replace('@node-llama-cpp/', '')];
  if (lock.packages[key] || !platform) continue;
  lock.packages[key] = { version, cpu: platform[1], license: 'MIT', optional: true, os: platform[0], engines: { node: '>=20.0.0' } };
  added += 1;
}
const [root, ...rest] = Object.keys(lock.packages);
lock.packages = Object.fromEntries([root, ...rest.sort()].map((key) => [key, lock.packages[key]]));
writeFileSync(lockPath, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lock: ${added} platform package(s) added`);
